/**
 * What every billing test file sets up: its own Firestore project on the emulator, the local Stripe server with
 * the real stripe client, a controllable clock shared by both, and the real webhook handler served over HTTP.
 */
import { Timestamp, type Firestore } from 'firebase-admin/firestore';
import {
  MEMBER_VERSION,
  memberSchema,
  ORGANIZATION_VERSION,
  organizationSchema,
  paths,
  stripeEventRecordSchema,
  subscriptionMirrorSchema,
  type Role,
} from '@leadpulse/model';
import { parseBillingCatalog, type BillingCatalog } from '../../functions/src/billing/catalog';
import { linkCustomerToOrg } from '../../functions/src/billing/customers';
import type { WebhookDeps } from '../../functions/src/billing/webhook';
import type { CheckoutDeps } from '../../functions/src/billing/checkout';
import type { Caller } from '../../functions/src/common/callable';
import type { OperatorBillingDeps } from '../../functions/src/billing/operators';
import { adminFirestore, uniqueProjectId } from '../support/firestore';
import { LocalStripe } from '@leadpulse/stripe-local';
import { deliver, startWebhookEndpoint, TEST_WEBHOOK_SECRET, type Delivery, type WebhookEndpoint } from '../support/stripe-webhook';

export const testCatalog: BillingCatalog = parseBillingCatalog(
  JSON.stringify({
    plans: {
      team: { priceId: 'price_team', minSeats: 1, maxSeats: 50, trialDays: 14 },
      business: { priceId: 'price_business', minSeats: 5, maxSeats: 500, trialDays: 0 },
    },
    promotionCodes: { LAUNCH20: 'promo_launch20' },
  }),
);

export const DAY_SECONDS = 86_400;

/** An operator: the ID token's claim, and Auth (operatorAuth) agreeing when the operator check re-reads it. */
export const operator: Caller = { uid: 'ops-1', email: 'ops@leadpulse.test', emailVerified: true, claims: { operator: true } };
const operatorAuth = { customClaims: async (uid: string): Promise<Record<string, unknown>> => (uid === operator.uid ? { operator: true } : {}) };

export interface BillingTestContext {
  db: Firestore;
  /** The project `db` belongs to (a second database of it: tests of restores). */
  projectId: string;
  stripe: LocalStripe;
  endpoint: WebhookEndpoint;
  /** What the webhook logged for operators (warnings and errors), instead of printing it. */
  logged: Array<{ level: 'warn' | 'error'; message: string; context: Record<string, unknown> }>;
  /** The test's clock, in seconds; Stripe's local server and the handlers both read it. */
  clock: { seconds: number };
  deps(): WebhookDeps;
  checkoutDeps(): CheckoutDeps;
  /** The operator callables' dependencies: Auth grants the operator claim to OPERATOR_UID only. */
  operatorDeps(): OperatorBillingDeps;
  /** Signs `event` at the clock's time and POSTs it to the webhook endpoint. */
  send(event: Record<string, unknown>): Promise<Delivery>;
  /** Points the handlers at a fresh Firestore project (for comparing two runs). */
  switchProject(topic: string): Promise<void>;
  close(): Promise<void>;
}

export async function startBillingTest(topic: string): Promise<BillingTestContext> {
  let projectId = uniqueProjectId(topic);
  let firestore = adminFirestore(projectId);
  const stripe = await LocalStripe.start();
  for (const plan of Object.values(testCatalog.plans)) stripe.prices.add(plan.priceId);
  for (const promotionCode of Object.values(testCatalog.promotionCodes)) stripe.promotionCodes.add(promotionCode);
  const clock = { seconds: Math.floor(Date.parse('2031-03-01T12:00:00Z') / 1000) };
  stripe.now = () => clock.seconds;
  const stripeClient = stripe.client();
  const logged: BillingTestContext['logged'] = [];
  const log = {
    warn: (message: string, logContext: Record<string, unknown>) => void logged.push({ level: 'warn', message, context: logContext }),
    error: (message: string, logContext: Record<string, unknown>) => void logged.push({ level: 'error', message, context: logContext }),
  };
  const deps = (): WebhookDeps => ({
    db: firestore.db,
    stripe: stripeClient,
    clock: () => new Date(clock.seconds * 1000),
    catalog: testCatalog,
    webhookSecrets: [TEST_WEBHOOK_SECRET],
    log,
  });
  const endpoint = await startWebhookEndpoint(deps);
  const context: BillingTestContext = {
    get db() {
      return firestore.db;
    },
    get projectId() {
      return projectId;
    },
    stripe,
    endpoint,
    logged,
    clock,
    deps,
    checkoutDeps: () => ({ ...deps(), appUrl: 'https://app.leadpulse.test' }),
    operatorDeps: () => ({ ...deps(), operators: operatorAuth }),
    send: (event) => deliver(endpoint.url, event, { timestamp: clock.seconds }),
    switchProject: async (next) => {
      await firestore.close();
      projectId = uniqueProjectId(next);
      firestore = adminFirestore(projectId);
    },
    close: async () => {
      await endpoint.stop();
      await stripe.stop();
      await firestore.close();
    },
  };
  return context;
}

export interface SeededMember {
  uid: string;
  role: Role;
}

/** An organization as the membership functions create it (free plan, full access, current versions), with its members. */
export async function seedOrg(
  db: Firestore,
  orgId: string,
  members: SeededMember[] = [{ uid: `${orgId}-owner`, role: 'owner' }],
  status: 'active' | 'deleting' = 'active',
): Promise<void> {
  const now = Timestamp.fromMillis(Date.parse('2031-01-01T00:00:00Z'));
  const access = status === 'active' ? 'full' : 'none';
  const owner = members.find((member) => member.role === 'owner') ?? members[0];
  const batch = db.batch();
  batch.set(
    db.doc(paths.org(orgId)),
    organizationSchema.parse({ schemaVersion: ORGANIZATION_VERSION, name: `Org ${orgId}`, ownerUid: owner.uid, plan: 'free', status, access, createdAt: now }),
  );
  for (const member of members) {
    batch.set(
      db.doc(paths.member(orgId, member.uid)),
      memberSchema.parse({
        schemaVersion: MEMBER_VERSION,
        uid: member.uid,
        orgId,
        role: member.role,
        access,
        email: `${member.uid}@example.com`,
        joinedAt: now,
      }),
    );
  }
  await batch.commit();
}

/** A Stripe customer linked to `orgId` the way a first checkout links it. */
export async function linkNewCustomer(context: BillingTestContext, orgId: string): Promise<string> {
  const customer = context.stripe.addCustomer({ email: `billing@${orgId}.example`, metadata: { orgId } });
  await linkCustomerToOrg(context.deps(), { orgId, customerId: customer.id as string, auditActorUid: null });
  return customer.id as string;
}

export async function readMirror(db: Firestore, orgId: string) {
  const snapshot = await db.doc(paths.subscription(orgId)).get();
  return snapshot.exists ? subscriptionMirrorSchema.parse(snapshot.data()) : null;
}

export async function readLedger(db: Firestore, eventId: string) {
  const snapshot = await db.doc(paths.stripeEvent(eventId)).get();
  return snapshot.exists ? stripeEventRecordSchema.parse(snapshot.data()) : null;
}
