/**
 * Issue 13, findings 1 and 4: after a person's account is deleted, or an organization is purged, every document
 * of the database and every object the local Stripe holds is searched for any value derived from the person's
 * e-mail, uid or name (sha256 hashes included), or from the organization's id; only what the retention table
 * allows may be found (docs/privacy.md, "Retention table").
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Timestamp } from 'firebase-admin/firestore';
import { paths } from '@leadpulse/model';
import { deleteAccount } from '../../functions/src/accounts/account-deletion';
import { closeOrgBilling } from '../../functions/src/billing/close-billing';
import { cancelSubscriptionHook, closeBillingHook } from '../../functions/src/billing/deletion-hooks';
import * as orgs from '../../functions/src/orgs';
import { requestOrganizationDeletion } from '../../functions/src/privacy/org-deletion';
import { orgReceiptId, purgeOrganization } from '../../functions/src/privacy/org-purge';
import { dumpProject, type ProjectDump } from '../support/snapshot';
import { DAY_SECONDS, linkNewCustomer, startBillingTest, type BillingTestContext } from '../billing/fixtures';
import { caller, deps as membershipDeps, join, manualClock, uniqueUid } from '../orgs/support';
import { RecordingAuth, recordingCancellation } from '../privacy/support';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Every form of `value` an implementation could plausibly store: as is, lower-cased, and hashed. */
function derivedForms(value: string): string[] {
  const forms = new Set([value, value.toLowerCase()]);
  for (const form of [...forms]) for (const prefix of ['', 'invite:', 'email:', 'uid:']) forms.add(sha256(`${prefix}${form}`));
  return [...forms];
}

/** The documents (path → canonical text) in which any of `needles` occurs, in the path or the data. */
function documentsMentioning(dump: ProjectDump, needles: string[]): string[] {
  return [...dump.entries()]
    .filter(([path, document]) => {
      const text = `${path}\n${JSON.stringify(document.data)}`;
      return needles.some((needle) => text.includes(needle));
    })
    .map(([path]) => path);
}

let context: BillingTestContext;
beforeAll(async () => {
  context = await startBillingTest('erasure-scan');
});
afterAll(() => context.close());

describe('after an account deletion', () => {
  it('nothing in the project derives from the person’s uid, e-mail or name', async () => {
    await context.switchProject('erasure-scan-person');
    const { db } = context;
    const time = manualClock();
    const d = membershipDeps(db, time.clock);
    const name = 'Zelda Quux-Person';
    const person = caller(uniqueUid('person'), { email: `Zelda.${uniqueUid('q')}@Example.com`, name });
    const owner = caller(uniqueUid('owner'));
    const { orgId } = await orgs.createOrganization(d, owner, { name: 'Scanned' });
    // Invited, joined as an admin, invited someone else, and was invited to a second organization.
    await join(d, orgId, owner, person, 'admin');
    await orgs.inviteMember(d, person, { orgId, email: 'someone@example.com', role: 'member' });
    const second = await orgs.createOrganization(d, owner, { name: 'Second' });
    await orgs.inviteMember(d, owner, { orgId: second.orgId, email: person.email ?? '', role: 'viewer' });

    // Entries written before invitation ids became random carry sha256("invite:" + address) as their target.
    const legacyInviteId = sha256(`invite:${(person.email ?? '').toLowerCase()}`);
    const at = Timestamp.fromDate(time.clock());
    await db
      .doc(paths.auditEntry(orgId, 'legacyInvited'))
      .set({ action: 'member.invited', actorUid: owner.uid, targetId: legacyInviteId, details: { role: 'admin', replaced: false }, at });
    await db
      .doc(paths.auditEntry(orgId, 'legacyJoined'))
      .set({ action: 'member.joined', actorUid: person.uid, targetUid: person.uid, targetId: legacyInviteId, at });

    const auth = new RecordingAuth();
    const deletion = { db, clock: time.clock, auth, orgDeletion: { graceDays: 7, cancelSubscription: recordingCancellation().cancel } };
    expect(await deleteAccount(deletion, person.uid, 'self')).toMatchObject({ status: 'deleted' });

    const needles = [...derivedForms(person.uid), ...derivedForms(person.email ?? ''), ...derivedForms(name)];
    // The retention table keeps nothing of a deleted account: no document may mention the person.
    expect(documentsMentioning(await dumpProject(db), needles)).toEqual([]);
  });
});

describe('after an organization purge', () => {
  it('only the billing records (P6) and the deletion receipt name the organization; Stripe holds nothing of it but its invoices', async () => {
    await context.switchProject('erasure-scan-org');
    const { db, stripe } = context;
    const orgId = `scan${uniqueUid('org').replace(/-/g, '')}`;
    const now = () => new Date(context.clock.seconds * 1000);
    const owner = caller(`${orgId}-owner`);
    await db.doc(paths.org(orgId)).set({ name: 'Scan Org', ownerUid: owner.uid, plan: 'free', status: 'active', access: 'full', createdAt: now() });
    await db.doc(paths.member(orgId, owner.uid)).set({ uid: owner.uid, orgId, role: 'owner', access: 'full', email: owner.email, joinedAt: now() });
    const customerId = await linkNewCustomer(context, orgId);
    const billingEmail = `billing@${orgId}.example`;
    const subscription = stripe.addSubscription({ customer: customerId, price: 'price_team', quantity: 3, status: 'active' });
    expect((await context.send(stripe.event('customer.subscription.created', subscription))).body).toMatchObject({ outcome: 'applied' });
    const invoice = stripe.addInvoice({
      customer: customerId,
      subscription: subscription.id as string,
      total: 4900,
      status: 'paid',
      customerEmail: billingEmail,
      customerName: 'Scan Org Ltd',
    });
    expect((await context.send(stripe.event('invoice.paid', invoice))).body).toMatchObject({ outcome: 'applied' });

    const billing = context.deps();
    // An event that arrives while the purge runs is parked under the organization's id (the webhook is live).
    let parkedDuringPurge = false;
    const closeOrgBillingAsWired = closeBillingHook(() => billing);
    const closeBilling = async (id: string) => {
      await closeOrgBillingAsWired(id);
      if (parkedDuringPurge) return;
      parkedDuringPurge = true;
      const late = stripe.addSubscription({ customer: customerId, price: 'price_team', quantity: 1, status: 'canceled' });
      await db.doc(paths.stripeEvent('evt_parkedDuringPurge')).set({
        type: 'customer.subscription.deleted',
        created: context.clock.seconds,
        livemode: false,
        change: { kind: 'subscription', customerId, subscriptionId: late.id },
        customerId,
        orgId,
        outcome: 'unmatched',
        reason: 'org_deleting',
        receivedAt: now(),
        processedAt: now(),
        replayCount: 0,
      });
    };
    await requestOrganizationDeletion({ db, clock: now, graceDays: 7, cancelSubscription: cancelSubscriptionHook(() => billing) }, owner, { orgId });
    context.clock.seconds += 8 * DAY_SECONDS;
    const purged = await purgeOrganization({ db, clock: now, closeBilling, pageSize: 50 }, orgId);
    expect(purged).toMatchObject({ status: 'purged' });

    const needles = [...derivedForms(orgId), ...derivedForms(billingEmail), ...derivedForms(owner.uid), ...derivedForms(owner.email ?? '')];
    // Allowed by the retention table: the billing records (7 years, amounts only) and the receipt (180 days).
    const dump = await dumpProject(db);
    expect(documentsMentioning(dump, needles).sort()).toEqual([paths.billingRecord(invoice.id as string), paths.deletionReceipt(orgReceiptId(orgId))].sort());
    const record = JSON.stringify(dump.get(paths.billingRecord(invoice.id as string))?.data);
    for (const personal of [...derivedForms(billingEmail), owner.uid, 'Scan Org Ltd']) expect(record).not.toContain(personal);

    // Stripe: the customer is deleted (no e-mail, no metadata); what still names the organization is the invoice it
    // issued (Stripe keeps issued invoices; they cannot be deleted).
    expect(stripe.customers.get(customerId)).toEqual({ id: customerId, object: 'customer', deleted: true });
    const stripeObjects = [...stripe.customers.values(), ...stripe.subscriptions.values(), ...stripe.invoices.values(), ...stripe.checkoutSessions.values()];
    const mentioning = stripeObjects.filter((object) => needles.some((needle) => JSON.stringify(object).includes(needle))).map((object) => object.id);
    expect(mentioning).toEqual([invoice.id]);

    // Closing again (a purge resumed after a crash) changes nothing and fails nowhere.
    await closeOrgBilling(billing, orgId);
    expect(await dumpProject(db)).toEqual(dump);
  });
});
