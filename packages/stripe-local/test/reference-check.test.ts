/** The shape comparison the reference check runs (the check itself needs ../shared and runs in CI only). */
import { describe, expect, it } from 'vitest';
import { compareShapes } from '../src/reference-check';

describe('compareShapes', () => {
  it('names every field of the reference that is missing, at any depth, and lists extra ones', () => {
    const reference = { id: 'x', items: { data: [{ price: { id: 'p', nickname: null } }] }, metadata: { a: '1' }, status: 'active' };
    const ours = { id: 'y', items: { data: [{ price: { id: 'q' } }] }, metadata: {}, created: 1 };
    expect(compareShapes(reference, ours)).toEqual({ missing: ['items.data[].price.nickname', 'status'], extra: ['created'] });
  });

  it('compares neither metadata keys nor an event’s object, and accepts an exact match', () => {
    const event = { id: 'evt_1', data: { object: { object: 'plan', amount: 1 } }, metadata: { orgId: 'a' } };
    expect(compareShapes(event, { id: 'evt_2', data: { object: { object: 'invoice' } }, metadata: {} })).toEqual({ missing: [], extra: [] });
  });
});
