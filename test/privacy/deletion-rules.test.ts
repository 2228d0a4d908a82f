/**
 * P5 through firestore.rules: from the commit that records an organization's deletion, every client read and
 * write of its data is denied (no token refresh needed); cancelling gives access back at once. Real web-SDK
 * requests through @firebase/rules-unit-testing against the emulator with the project's rules.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertFails, assertSucceeds, type RulesTestEnvironment } from '@firebase/rules-unit-testing';
import type { Firestore } from 'firebase-admin/firestore';
import { paths } from '@leadpulse/model';
import { deleteAccount } from '../../functions/src/accounts/account-deletion';
import { cancelOrganizationDeletion, requestOrganizationDeletion } from '../../functions/src/privacy/org-deletion';
import { adminFirestore, uniqueProjectId } from '../support/firestore';
import { rulesTestEnvironment } from '../support/rules';
import { RecordingAuth, caller, recordingCancellation, seedOrg } from './support';

const projectId = uniqueProjectId('privacy-rules');
let env: RulesTestEnvironment;
let db: Firestore;
let close: () => Promise<void>;

beforeAll(async () => {
  env = await rulesTestEnvironment(projectId);
  ({ db, close } = adminFirestore(projectId));
});
afterAll(async () => {
  await env?.cleanup();
  await close?.();
});

const clientOf = (uid: string) => env.authenticatedContext(uid, { email: `${uid}@example.com`, email_verified: true }).firestore();

describe('access while an organization is being deleted', () => {
  it('is denied to every member from the request on, and restored by cancelling', async () => {
    const now = new Date();
    const stripe = recordingCancellation();
    const deps = { db, clock: () => new Date(), graceDays: 7, cancelSubscription: stripe.cancel, reconcileBilling: stripe.reconcile, maxOrgsPerOwner: 5 };
    await seedOrg(db, {
      orgId: 'orgRules',
      now,
      members: [
        { uid: 'rules-owner', role: 'owner' },
        { uid: 'rules-member', role: 'member' },
      ],
      contacts: 1,
    });
    const contact = (uid: string) => clientOf(uid).doc(paths.contact('orgRules', 'contact000000'));
    for (const uid of ['rules-owner', 'rules-member']) await assertSucceeds(contact(uid).get());

    await requestOrganizationDeletion(deps, caller('rules-owner'), { orgId: 'orgRules' });
    for (const uid of ['rules-owner', 'rules-member']) {
      await assertFails(contact(uid).get());
      await assertFails(clientOf(uid).collection(paths.contacts('orgRules')).get());
      await assertFails(clientOf(uid).doc(paths.org('orgRules')).get());
    }
    await assertFails(contact('rules-owner').delete());

    await cancelOrganizationDeletion(deps, caller('rules-owner'), { orgId: 'orgRules' });
    for (const uid of ['rules-owner', 'rules-member']) await assertSucceeds(contact(uid).get());
  });

  it('is denied at once when an account deletion schedules the organization it alone made up', async () => {
    await seedOrg(db, { orgId: 'orgSolo', now: new Date(), members: [{ uid: 'solo', role: 'owner' }], contacts: 1 });
    const contact = clientOf('solo').doc(paths.contact('orgSolo', 'contact000000'));
    await assertSucceeds(contact.get());
    const auth = new RecordingAuth();
    const deps = { db, clock: () => new Date(), auth, orgDeletion: { graceDays: 7, cancelSubscription: recordingCancellation().cancel } };
    let checked = false;
    const onStep = async (step: string) => {
      if (step !== 'recorded') return;
      // The membership still exists at this point; the organization's access state alone denies.
      await assertFails(contact.get());
      checked = true;
    };
    await deleteAccount({ ...deps, onStep }, 'solo', 'self');
    expect(checked).toBe(true);
    await assertFails(contact.get());
  });
});
