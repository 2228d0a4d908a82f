/**
 * Shared helpers of the privacy tests: a hand-moved clock, callers, and recording stand-ins for the two services
 * the emulator does not provide (Firebase Auth and billing's Stripe calls). Seeding lives in ./seed (re-exported
 * here); whole-project dumps and digests in ../support/snapshot.
 */
import type { Firestore } from 'firebase-admin/firestore';
import type { Role } from '@leadpulse/model';
import type { AccountAuth } from '../../functions/src/accounts/account-auth';
import type { Caller } from '../../functions/src/common/callable';
import type { CancelSubscription, ReconcileBilling } from '../../functions/src/privacy/org-deletion';
import type { CloseBilling } from '../../functions/src/privacy/org-purge';
import { manualClock as clockFrom } from '../support/clock';
import { adminFirestore, uniqueProjectId, uniqueUid as uid } from '../support/firestore';
import { START } from './seed';

export * from './seed';
export { uid };

/** A clock the test moves by hand, from START unless told otherwise. */
export const manualClock = (start = START) => clockFrom(start);

/** A fresh project on the emulator; call `close()` in afterAll/afterEach. */
export function freshProject(topic: string): { db: Firestore; projectId: string; close: () => Promise<void> } {
  const projectId = uniqueProjectId(topic);
  const { db, close } = adminFirestore(projectId);
  return { db, projectId, close };
}

/** A signed-in caller as firebase-functions hands it over after verifying the ID token. */
export function caller(uid: string, extraClaims: Record<string, unknown> = {}): Caller {
  const email = `${uid}@example.com`;
  return { uid, email, emailVerified: true, claims: { email, email_verified: true, ...extraClaims } };
}

/**
 * One person per role, each with a fresh uid labelled by the role: `uids` by role, and `members` in the order given
 * (the first is the owner), as seedOrg takes them.
 */
export function onePersonPerRole<R extends Role>(...roles: R[]): { uids: Record<R, string>; members: Array<{ uid: string; role: R }> } {
  const members = roles.map((role) => ({ uid: uid(role), role }));
  return { uids: Object.fromEntries(members.map((person) => [person.role, person.uid])) as Record<R, string>, members };
}

/**
 * Firebase Auth as AccountAuth, in memory, recording every deletion (test/privacy/auth-emulator.test.ts runs
 * the real firebase-admin adapter against firebase-tools' Auth emulator).
 */
export class RecordingAuth implements AccountAuth {
  readonly users = new Map<string, Record<string, unknown>>();
  readonly deleteCalls: string[] = [];
  addUser(uid: string, claims: Record<string, unknown> = {}): void {
    this.users.set(uid, claims);
  }
  async deleteUser(uid: string): Promise<void> {
    this.deleteCalls.push(uid);
    this.users.delete(uid);
  }
  async customClaims(uid: string): Promise<Record<string, unknown>> {
    return this.users.get(uid) ?? {};
  }
}

/**
 * Stands in for billing's Stripe side of an organization deletion: records the organizations whose subscriptions
 * are cancelled (and whose billing is closed at the purge) (can be told to fail) and whose billing is reconciled when the deletion is cancelled (nothing parked
 * here: the end to end case with Stripe is test/billing/deletion-cancelled.test.ts).
 */
export function recordingCancellation(): {
  calls: string[];
  cancel: CancelSubscription;
  failWith: (error: Error | null) => void;
  reconciled: string[];
  reconcile: ReconcileBilling;
  closed: string[];
  close: CloseBilling;
} {
  const calls: string[] = [];
  const reconciled: string[] = [];
  const closed: string[] = [];
  let failure: Error | null = null;
  return {
    calls,
    failWith: (error) => (failure = error),
    cancel: async (orgId) => {
      calls.push(orgId);
      if (failure) throw failure;
    },
    reconciled,
    reconcile: async (orgId) => {
      reconciled.push(orgId);
      return 0;
    },
    closed,
    close: async (orgId) => {
      closed.push(orgId);
      if (failure) throw failure;
    },
  };
}
