import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SortedList } from '../../src/engine/sorted-list';

const compare = (a: number, b: number) => a - b;

describe('sorted list', () => {
  it('matches a sorted array under random inserts, removals and ranged iteration (across chunk splits)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3000 })), { minLength: 2500, maxLength: 5000 }),
        fc.integer({ min: -5, max: 3005 }),
        (operations, from) => {
          const list = new SortedList<number, number>((n) => n, compare);
          const reference = new Set<number>();
          for (const [insert, value] of operations) {
            if (insert) {
              expect(list.insert(value)).toBe(!reference.has(value));
              reference.add(value);
            } else expect(list.remove(value)).toBe(reference.delete(value));
          }
          const sorted = [...reference].sort(compare);
          expect(list.size).toBe(sorted.length);
          expect([...list.iterate(null)]).toEqual(sorted);
          expect([...list.iterate(null, true)]).toEqual([...sorted].reverse());
          expect([...list.iterate(from)]).toEqual(sorted.filter((n) => n >= from));
          expect([...list.iterate(from, true)]).toEqual(sorted.filter((n) => n <= from).reverse());
        },
      ),
      { numRuns: 10 },
    );
  });
});
