/**
 * The Auth user-deleted trigger is deployed with retries: a failure is logged with the uid an operator needs and
 * rethrown (so Cloud Functions delivers the event again); a retry after the cause is resolved finishes the deletion.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Firestore } from 'firebase-admin/firestore';
import { paths } from '@leadpulse/model';
import { AUTH_TRIGGER_FAILED_MESSAGE, onAuthUserDeleted, type AccountDeletionDeps } from '../../functions/src/accounts/account-deletion';
import { START, freshProject, manualClock, RecordingAuth, recordingCancellation, seedOrg, seedUser, uid } from './support';

// The alert lines, captured (and kept out of the test output).
const logged = vi.hoisted(() => ({ error: vi.fn() }));
vi.mock('firebase-functions/logger', async (original) => ({ ...(await original<typeof import('firebase-functions/logger')>()), error: logged.error }));

let db: Firestore;
let close: () => Promise<void>;
let deps: AccountDeletionDeps;

beforeEach(() => {
  ({ db, close } = freshProject('privacy-auth-trigger'));
  deps = { db, clock: manualClock().clock, auth: new RecordingAuth(), orgDeletion: { graceDays: 7, cancelSubscription: recordingCancellation().cancel } };
});
afterEach(async () => {
  logged.error.mockClear();
  await close();
});

describe('onAuthUserDeleted', () => {
  it('logs a refusal with the uid and the organizations to resolve, and fails so that the event is retried', async () => {
    const owner = uid('owner');
    const colleague = uid('colleague');
    await seedUser(db, owner, START);
    await seedOrg(db, { orgId: 'shared', now: START, members: [{ uid: owner, role: 'owner' }, { uid: colleague, role: 'member' }] });

    await expect(onAuthUserDeleted(deps, owner)).rejects.toMatchObject({ code: 'failed-precondition' });

    expect(logged.error).toHaveBeenCalledTimes(1);
    const [message, fields] = logged.error.mock.calls[0] as [string, Record<string, unknown>];
    expect(message).toBe(AUTH_TRIGGER_FAILED_MESSAGE);
    expect(fields).toMatchObject({ uid: owner, details: { orgIds: ['shared'] } });
    expect(fields.stack_trace).toMatch(/^Error: .*\n\s+at /);

    // The operator moves the ownership; the next delivery of the same event finishes the deletion.
    await db.doc(paths.member('shared', colleague)).update({ role: 'owner' });
    await db.doc(paths.member('shared', owner)).update({ role: 'admin' });
    await db.doc(paths.org('shared')).update({ ownerUid: colleague });
    await expect(onAuthUserDeleted(deps, owner)).resolves.toMatchObject({ status: 'deleted' });
    expect((await db.doc(paths.member('shared', owner)).get()).exists).toBe(false);
    expect((await db.doc(paths.user(owner)).get()).exists).toBe(false);
  });
});
