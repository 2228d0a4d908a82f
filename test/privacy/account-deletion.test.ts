/**
 * P4 and P12: account deletion, by the person (callable), by Firebase Auth (trigger) and by an operator, all
 * through one handler. The person's uid disappears from the whole project; what organizations own stays, under a
 * tombstone; the sole-owner rule refuses before anything changes; runs repeated, concurrent or after a crash
 * finish the same deletion.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Timestamp, type Firestore } from 'firebase-admin/firestore';
import { z } from 'zod';
import {
  auditEntrySchema,
  collectionGroups,
  configSchema,
  contactSchema,
  DELETION_RECEIPT_VERSION,
  deletionReceiptSchema,
  inviteSchema,
  messageSchema,
  orgDeletionRequestSchema,
  organizationSchema,
  paths,
  tombstoneSchema,
  uidSchema,
} from '@leadpulse/model';
import {
  RECENT_SIGN_IN_MS,
  deleteAccount,
  deleteMyAccount,
  eraseUser,
  onAuthUserDeleted,
  personReferences,
  type AccountDeletionDeps,
  type AccountDeletionStep,
} from '../../functions/src/accounts/account-deletion';
import { dumpProject, expectRefusedWithoutChange, storedText } from '../support/snapshot';
import { DAY, START, caller, freshProject, manualClock, RecordingAuth, recordingCancellation, seedOrg, seedUser, uid } from './support';

let db: Firestore;
let close: () => Promise<void>;
let time: ReturnType<typeof manualClock>;
let auth: RecordingAuth;
let stripe: ReturnType<typeof recordingCancellation>;
let deps: AccountDeletionDeps;
let person: string;
let colleague: string;

/** A signed-in caller who signed in `ageMs` ago. */
function signedIn(who: string, ageMs = 0, extra: Record<string, unknown> = {}) {
  return caller(who, { auth_time: Math.floor((time.clock().getTime() - ageMs) / 1000), ...extra });
}

/**
 * The person: profile and marketing consent; admin of org A (contacts, config, invites, audit entries naming
 * them), member of org B (messages they sent), and the only member (so the owner) of org C.
 */
async function seedPerson(): Promise<void> {
  await seedUser(db, person, START, { consent: true });
  auth.addUser(person);
  await seedOrg(db, {
    orgId: 'orgA',
    now: START,
    members: [
      { uid: colleague, role: 'owner' },
      { uid: person, role: 'admin' },
    ],
    contacts: 4,
    messagesPerContact: 1,
    auditEntries: 2,
  });
  const at = Timestamp.fromDate(START);
  await db.doc(paths.config('orgA', 'pipeline')).set(configSchema.parse({ pipelineStages: ['a'], updatedBy: person, updatedAt: at }));
  await db
    .doc(paths.invite('orgA', 'inv1'))
    .set(inviteSchema.parse({ email: 'someone@example.com', role: 'member', tokenHash: 'b'.repeat(64), invitedBy: person, createdAt: at, expiresAt: at }));
  // An invitation addressed to the person by an organization they never joined: withdrawn by the deletion.
  await seedOrg(db, { orgId: 'orgD', now: START, members: [{ uid: colleague, role: 'owner' }] });
  await db
    .doc(paths.invite('orgD', 'toPerson'))
    .set(inviteSchema.parse({ email: `${person}@example.com`, role: 'member', tokenHash: 'c'.repeat(64), invitedBy: colleague, createdAt: at, expiresAt: at }));
  await db
    .doc(paths.auditEntry('orgA', 'joined'))
    .set(auditEntrySchema.parse({ action: 'member.joined', actorUid: person, targetUid: person, details: { role: 'admin', invitedBy: colleague }, at }));
  await db
    .doc(paths.auditEntry('orgA', 'transfer'))
    .set(auditEntrySchema.parse({ action: 'org.ownership_transferred', actorUid: person, targetUid: colleague, details: { previousOwnerUid: person }, at }));
  await seedOrg(db, {
    orgId: 'orgB',
    now: START,
    members: [
      { uid: colleague, role: 'owner' },
      { uid: person, role: 'member' },
    ],
    contacts: 3,
    messagesPerContact: 2,
  });
  await seedOrg(db, { orgId: 'orgC', now: START, members: [{ uid: person, role: 'owner' }], contacts: 2, config: true });
}

beforeEach(async () => {
  ({ db, close } = freshProject('privacy-account'));
  time = manualClock();
  auth = new RecordingAuth();
  stripe = recordingCancellation();
  deps = { db, clock: time.clock, auth, orgDeletion: { graceDays: 7, cancelSubscription: stripe.cancel }, pageSize: 3 };
  person = uid('person');
  colleague = uid('colleague');
  await seedPerson();
});
afterEach(async () => close());

/** The end state every way of deleting the person must reach. */
async function expectPersonGone(initiatedBy: 'self' | 'operator' | 'auth'): Promise<string> {
  const dump = await dumpProject(db);
  // Neither the uid nor the e-mail address nor the name is anywhere in the project.
  expect(storedText(dump)).not.toContain(person);
  expect(auth.users.has(person)).toBe(false);

  const receipts = [...dump.keys()].filter((path) => path.startsWith('deletionReceipts/deleted-'));
  expect(receipts).toHaveLength(1);
  const receipt = deletionReceiptSchema.parse((await db.doc(receipts[0]).get()).data());
  expect(receipt).toMatchObject({
    schemaVersion: DELETION_RECEIPT_VERSION,
    kind: 'account',
    initiatedBy,
    deletedDocuments: 5,
    collections: { users: 1, members: 3, marketingConsents: 1 },
    scheduledOrganizations: 1,
  });
  // The TTL field (firestore.indexes.json): 179 days after completion, so TTL has deleted it by 180 days (P7).
  expect((receipt.expiresAt?.toMillis() ?? 0) - receipt.completedAt.toMillis()).toBe(179 * 24 * 60 * 60 * 1000);
  const tombstone = tombstoneSchema.parse(receipt.subjectId);

  // What the organizations own stays, under the tombstone.
  const contactsA = await db.collection(paths.contacts('orgA')).get();
  expect(contactsA.size).toBe(4);
  expect(contactsA.docs.filter((d) => d.get('createdBy') === tombstone)).toHaveLength(2);
  expect((await db.collection(paths.messages('orgB')).where('sentBy', '==', tombstone).get()).size).toBe(3);
  expect((await db.doc(paths.config('orgA', 'pipeline')).get()).get('updatedBy')).toBe(tombstone);
  // The invitation the person sent as an admin is revoked with their membership: no one vouches for it now.
  expect((await db.doc(paths.invite('orgA', 'inv1')).get()).exists).toBe(false);
  // An invitation addressed to them is withdrawn: nobody is left to accept it, and it holds their address.
  expect((await db.doc(paths.invite('orgD', 'toPerson')).get()).exists).toBe(false);
  expect((await db.doc(paths.auditEntry('orgA', 'joined')).get()).data()).toMatchObject({ actorUid: tombstone, targetUid: tombstone });
  expect((await db.doc(paths.auditEntry('orgA', 'transfer')).get()).get('details.previousOwnerUid')).toBe(tombstone);

  // One audit entry per organization the person belonged to.
  for (const [orgId, invitationsRevoked] of [
    ['orgA', 1],
    ['orgB', 0],
    ['orgC', 0],
  ] as const) {
    const entries = await db.collection(paths.auditLog(orgId)).where('action', '==', 'account.deleted').get();
    expect(
      entries.docs.map((d) => d.data()),
      orgId,
    ).toEqual([expect.objectContaining({ actorUid: tombstone, targetUid: tombstone, details: { initiatedBy, invitationsRevoked } })]);
  }

  // Org C, which only the person made up, is scheduled for deletion; its subscription cancelled.
  const orgC = organizationSchema.parse((await db.doc(paths.org('orgC')).get()).data());
  expect(orgC).toMatchObject({ status: 'deleting', access: 'none', ownerUid: tombstone });
  const requestC = orgDeletionRequestSchema.parse((await db.doc(paths.deletionRequest('orgC')).get()).data());
  expect(requestC).toMatchObject({ requestedBy: tombstone, state: 'pending' });
  expect(requestC.deadline.toMillis()).toBe(START.getTime() + 30 * DAY);
  expect(stripe.calls).toEqual(['orgC']);
  // Orgs A and B carry on.
  expect((await db.doc(paths.org('orgA')).get()).get('status')).toBe('active');
  return tombstone;
}

describe('deleteMyAccount', () => {
  it('removes the profile, consent, memberships and Auth user, tombstones the rest, schedules the sole-member org', async () => {
    const result = await deleteMyAccount(deps, signedIn(person), { confirm: true });
    expect(result).toMatchObject({ status: 'deleted', scheduledOrgIds: ['orgC'] });
    const tombstone = await expectPersonGone('self');
    expect(result).toMatchObject({ receiptId: tombstone });
    expect(auth.deleteCalls).toEqual([person]);
  });

  it('deletes a profile whose name an older release accepted and this one refuses (a blank letter at its start)', async () => {
    await db.doc(paths.user(person)).update({ displayName: '\u3164Bob' });
    expect(await deleteMyAccount(deps, signedIn(person), { confirm: true })).toMatchObject({ status: 'deleted' });
    await expectPersonGone('self');
  });

  it('refuses, changing nothing, while the person owns an organization with other members', async () => {
    await db
      .doc(paths.member('orgC', colleague))
      .set({ uid: colleague, orgId: 'orgC', role: 'viewer', access: 'full', email: `${colleague}@example.com`, joinedAt: Timestamp.fromDate(START) });
    const error = await expectRefusedWithoutChange(
      db,
      () => deleteMyAccount(deps, signedIn(person), { confirm: true }),
      'failed-precondition',
      /transfer ownership/,
    );
    expect(error.details).toEqual({ orgIds: ['orgC'] });
    expect(auth.users.has(person)).toBe(true);
    expect(stripe.calls).toEqual([]);
  });

  it('needs a sign-in from the last 5 minutes and an explicit confirmation', async () => {
    await expectRefusedWithoutChange(
      db,
      () => deleteMyAccount(deps, signedIn(person, RECENT_SIGN_IN_MS + 1000), { confirm: true }),
      'failed-precondition',
      /sign in again/,
    );
    await expectRefusedWithoutChange(db, () => deleteMyAccount(deps, caller(person), { confirm: true }), 'failed-precondition', /sign in again/);
    for (const data of [{}, { confirm: 'yes' }, { confirm: true, uid: colleague }, undefined]) {
      await expectRefusedWithoutChange(db, () => deleteMyAccount(deps, signedIn(person), data), 'invalid-argument');
    }
    expect(auth.deleteCalls).toEqual([]);
  });

  it('is idempotent: the Auth trigger that follows finds nothing left and changes nothing', async () => {
    await deleteMyAccount(deps, signedIn(person), { confirm: true });
    const after = await dumpProject(db);
    expect(await onAuthUserDeleted(deps, person)).toEqual({ status: 'nothing_to_delete' });
    expect(await dumpProject(db)).toEqual(after);
  });

  it('the callable and the Auth trigger running at once finish one deletion with one receipt', async () => {
    let trigger: Promise<unknown> | undefined;
    const callableDeps: AccountDeletionDeps = {
      ...deps,
      onStep: (step) => {
        // The trigger fires while the callable is still working (as when Auth is deleted from the console).
        if (step === 'recorded') trigger = onAuthUserDeleted(deps, person);
      },
    };
    await deleteMyAccount(callableDeps, signedIn(person), { confirm: true });
    expect(await trigger).toMatchObject({ status: 'deleted' });
    await expectPersonGone('self');
  });
});

describe('the order of the steps', () => {
  it('removes the memberships before it tombstones references, so the person can write nothing in between', async () => {
    const seen: Record<string, { memberships: number; contactsByPerson: number }> = {};
    const observing: AccountDeletionDeps = {
      ...deps,
      onStep: async (step) => {
        if (step !== 'memberships' && step !== 'anonymized') return;
        seen[step] = {
          memberships: (await db.collectionGroup(collectionGroups.members).where('uid', '==', person).get()).size,
          contactsByPerson: (await db.collection(paths.contacts('orgA')).where('createdBy', '==', person).get()).size,
        };
      },
    };
    await deleteAccount(observing, person, 'self');
    expect(seen).toEqual({ memberships: { memberships: 0, contactsByPerson: 2 }, anonymized: { memberships: 0, contactsByPerson: 0 } });
  });
});

describe('a deletion interrupted after any step', () => {
  const steps: AccountDeletionStep[] = ['recorded', 'memberships', 'anonymized', 'profile', 'auth'];
  for (const step of steps) {
    it(`is finished by the next run (crash after "${step}")`, async () => {
      const crashing: AccountDeletionDeps = {
        ...deps,
        onStep: (reached) => {
          if (reached === step) throw new Error(`crash after ${step}`);
        },
      };
      await expect(deleteAccount(crashing, person, 'self')).rejects.toThrow(`crash after ${step}`);
      expect((await db.doc(paths.deletionRequest(`account:${person}`)).get()).exists).toBe(true);
      // The Auth trigger (or the retention job) runs the same deletion again.
      expect(await onAuthUserDeleted(deps, person)).toMatchObject({ status: 'deleted' });
      const tombstone = await expectPersonGone('self');
      // The same tombstone throughout: the one recorded before the crash.
      expect((await db.collection(paths.contacts('orgA')).where('createdBy', '==', tombstone).get()).size).toBe(2);
    });
  }
});

describe('onAuthUserDeleted', () => {
  it('runs the same deletion when the Auth user was deleted elsewhere', async () => {
    auth.users.delete(person);
    expect(await onAuthUserDeleted(deps, person)).toMatchObject({ status: 'deleted' });
    await expectPersonGone('auth');
  });
});

describe('eraseUser (operators, P12)', () => {
  const operator = 'operator-1';

  it('erases another user through the same deletion, recording the reason', async () => {
    auth.addUser(operator, { operator: true });
    const result = await eraseUser(deps, caller(operator, { operator: true }), { uid: person, reason: 'child_under_13' });
    expect(result.status).toBe('deleted');
    const tombstone = await expectPersonGone('operator');
    const receipt = deletionReceiptSchema.parse((await db.doc(paths.deletionReceipt(tombstone)).get()).data());
    expect(receipt).toMatchObject({ reason: 'child_under_13' });
  });

  it('refuses anyone the server has not made an operator, whatever their token claims', async () => {
    auth.addUser(operator, {});
    const attempts = [
      caller(person), // a user erasing someone
      caller(operator, { operator: true }), // a claim the server did not set (or has revoked)
      caller(operator, { operator: 'true' }),
      caller(colleague, { admin: true, role: 'owner', orgs: { orgA: 'owner' } }), // forged claims of another kind
    ];
    for (const attacker of attempts) {
      await expectRefusedWithoutChange(db, () => eraseUser(deps, attacker, { uid: person, reason: 'child_under_13' }), 'permission-denied');
    }
    expect(auth.deleteCalls).toEqual([]);
  });

  it('rejects bad arguments naming the field', async () => {
    auth.addUser(operator, { operator: true });
    const op = caller(operator, { operator: true });
    const cases: Array<[unknown, string]> = [
      [{ reason: 'child_under_13' }, 'uid'],
      [{ uid: 'a/b', reason: 'child_under_13' }, 'uid'],
      [{ uid: person }, 'reason'],
      [{ uid: person, reason: 'because' }, 'reason'],
    ];
    for (const [data, field] of cases) {
      const error = await expectRefusedWithoutChange(db, () => eraseUser(deps, op, data), 'invalid-argument');
      expect(error.details).toEqual({ field });
    }
  });
});

describe('personReferences', () => {
  it('covers every uid field of the organization data the model declares', () => {
    const schemas = {
      orgs: organizationSchema,
      contacts: contactSchema,
      messages: messageSchema,
      config: configSchema,
      invites: inviteSchema,
      auditLog: auditEntrySchema,
    };
    const declared: string[] = [];
    for (const [collection, schema] of Object.entries(schemas)) {
      for (const [field, fieldSchema] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
        const inner = fieldSchema instanceof z.ZodOptional ? fieldSchema.unwrap() : fieldSchema;
        if (inner === uidSchema) declared.push(`${collection}.${field}`);
      }
    }
    const covered = personReferences.map((ref) => `${'collection' in ref.source ? ref.source.collection : ref.source.collectionGroup}.${ref.field}`);
    expect(declared.length).toBeGreaterThanOrEqual(7);
    for (const field of declared) expect(covered).toContain(field);
  });
});
