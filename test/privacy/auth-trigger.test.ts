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

/** The project's Firestore, except that its first transaction fails as when the database is unavailable. */
function failingFirstTransaction(target: Firestore): Firestore {
  let failed = false;
  return new Proxy(target, {
    get(object, key) {
      if (key === 'runTransaction' && !failed) {
        failed = true;
        return () => Promise.reject(new Error('14 UNAVAILABLE: firestore down'));
      }
      const value: unknown = Reflect.get(object, key, object);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}

describe('onAuthUserDeleted', () => {
  it('logs a failure with the uid and its stack, and fails so that the event is retried; the retry finishes the deletion', async () => {
    const owner = uid('owner');
    const colleague = uid('colleague');
    await seedUser(db, owner, START);
    await seedOrg(db, {
      orgId: 'shared',
      now: START,
      members: [
        { uid: owner, role: 'owner' },
        { uid: colleague, role: 'member' },
      ],
    });

    await expect(onAuthUserDeleted({ ...deps, db: failingFirstTransaction(db) }, owner)).rejects.toThrow(/UNAVAILABLE/);

    expect(logged.error).toHaveBeenCalledTimes(1);
    const [message, fields] = logged.error.mock.calls[0] as [string, Record<string, unknown>];
    expect(message).toBe(AUTH_TRIGGER_FAILED_MESSAGE);
    expect(fields).toMatchObject({ uid: owner });
    expect(fields.stack_trace).toMatch(/^Error: .*\n\s+at /);
    expect((await db.doc(paths.member('shared', owner)).get()).exists).toBe(true);

    // Cloud Functions delivers the event again once Firestore answers: the deletion finishes.
    await expect(onAuthUserDeleted(deps, owner)).resolves.toMatchObject({ status: 'deleted' });
    expect((await db.doc(paths.member('shared', owner)).get()).exists).toBe(false);
    expect((await db.doc(paths.user(owner)).get()).exists).toBe(false);
  });
});
