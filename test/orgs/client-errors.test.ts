/**
 * Errors a client sees name no internal ids: a stored document that does not fit is `internal` with a fixed
 * message (the path, which holds uids and organization ids, goes to the log only); a display field gone bad
 * (a name the old rules let through) blocks none of the server's flows.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { paths } from '@leadpulse/model';
import * as orgs from '../../functions/src/orgs';
import { adminFirestore, uniqueProjectId } from '../support/firestore';
import { caller, deps, manualClock, seedOrg, uniqueUid } from './support';

// The log lines, captured (and kept out of the test output).
const logged = vi.hoisted(() => ({ error: vi.fn() }));
vi.mock('firebase-functions/logger', async (original) => ({ ...(await original<typeof import('firebase-functions/logger')>()), error: logged.error }));

const firestore = adminFirestore(uniqueProjectId('orgs-client-errors'));
const db = firestore.db;
let d: ReturnType<typeof deps>;
beforeAll(() => {
  d = deps(db, manualClock().clock);
});
afterEach(() => logged.error.mockClear());
afterAll(async () => firestore.close());

describe('client-facing errors', () => {
  it('an invalid stored document is `internal` without its path; the path is logged for operators', async () => {
    const { orgId, owner } = await seedOrg(d, 'poisoned');
    await db.doc(paths.member(orgId, owner.uid)).update({ role: 'emperor' });

    const error = (await orgs.inviteMember(d, owner, { orgId, email: `${uniqueUid('x')}@example.com`, role: 'member' }).catch((e: unknown) => e)) as {
      code: string;
      message: string;
      details?: unknown;
    };

    expect(error.code).toBe('internal');
    expect(error.message).not.toContain(owner.uid);
    expect(error.message).not.toContain(orgId);
    expect(error.details).toBeUndefined();
    expect(logged.error).toHaveBeenCalledWith(expect.stringContaining(paths.member(orgId, owner.uid)), expect.objectContaining({ field: 'role' }));
  });

  it('a name the old rules let through (U+00A0) blocks neither invitations nor the other flows', async () => {
    const { orgId, owner } = await seedOrg(d, 'nbsp');
    await db.doc(paths.org(orgId)).update({ name: '\u00a0' });
    const invitee = caller(uniqueUid('invitee'));
    const link = await orgs.inviteMember(d, owner, { orgId, email: invitee.email, role: 'member' });
    await expect(orgs.acceptInvitation(d, invitee, { orgId, inviteId: link.inviteId, token: link.token })).resolves.toMatchObject({ role: 'member' });
  });
});
