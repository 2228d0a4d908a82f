/**
 * The local billing walkthrough of docs/billing.md, as a script to run while `npm start` runs (no Stripe key needed):
 * a demo user signs in (Auth emulator), creates an organization, starts a checkout as its owner, pays on the local
 * Stripe's hosted page, and the organization's plan changes once the forwarded events reach stripeWebhook.
 *
 *   npm run billing:walkthrough
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initializeApp } from 'firebase-admin/app';
import { getFirestore } from 'firebase-admin/firestore';
import { organizationSchema, paths, subscriptionMirrorSchema } from '@leadpulse/model';
import { demoPassword, demoProjectId, demoUsers } from './seed-data';

const config = JSON.parse(readFileSync(join(__dirname, '..', 'firebase.json'), 'utf8')) as {
  emulators: Record<'auth' | 'functions' | 'firestore', { host: string; port: number }>;
};
const { auth, functions, firestore } = config.emulators;

async function signIn(email: string): Promise<string> {
  const response = await fetch(`http://${auth.host}:${auth.port}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=demo`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: demoPassword, returnSecureToken: true }),
  });
  const body = (await response.json()) as { idToken?: string; error?: { message: string } };
  if (!body.idToken) throw new Error(`sign-in of ${email} failed: ${body.error?.message ?? response.status}`);
  return body.idToken;
}

async function call<T>(name: string, idToken: string, data: unknown): Promise<T> {
  const response = await fetch(`http://${functions.host}:${functions.port}/${demoProjectId}/us-central1/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${idToken}` },
    body: JSON.stringify({ data }),
  });
  const body = (await response.json()) as { result?: T; error?: { status: string; message: string } };
  if (body.error || body.result === undefined) throw new Error(`${name}: ${body.error?.status ?? response.status} ${body.error?.message ?? ''}`);
  return body.result;
}

async function main(): Promise<void> {
  process.env.FIRESTORE_EMULATOR_HOST ??= `${firestore.host}:${firestore.port}`;
  const db = getFirestore(initializeApp({ projectId: demoProjectId }));
  const person = demoUsers.find((user) => user.role === 'admin' && user.orgId === 'acme');
  if (!person) throw new Error('no demo admin of acme');

  const idToken = await signIn(person.email);
  const { orgId } = await call<{ orgId: string }>('createOrganization', idToken, { name: `Walkthrough ${new Date().toISOString().slice(11, 19)}` });
  console.log(`1. ${person.email} created organization ${orgId} (its owner; plan free)`);

  const checkout = await call<{ sessionId: string; url: string }>('createCheckoutSession', idToken, { orgId, plan: 'team', seats: 3, requestId: randomUUID() });
  console.log(`2. checkout ${checkout.sessionId}\n   hosted page: ${checkout.url}`);

  const paid = await fetch(checkout.url, { method: 'POST', redirect: 'manual' });
  if (paid.status !== 303) throw new Error(`paying answered ${paid.status}`);
  console.log(`3. paid on the local page; redirected to ${paid.headers.get('location') ?? '?'}`);

  for (let attempt = 0; attempt < 60; attempt++) {
    const org = organizationSchema.parse((await db.doc(paths.org(orgId)).get()).data());
    const mirrorSnapshot = await db.doc(paths.subscription(orgId)).get();
    const mirror = mirrorSnapshot.exists ? subscriptionMirrorSchema.parse(mirrorSnapshot.data()) : null;
    if (org.plan !== 'free') {
      console.log(`4. organization ${orgId}: plan ${org.plan}, access ${org.access}; subscription ${mirror?.subscriptionId ?? '?'} ${mirror?.status ?? '?'}`);
      console.log(`   try: npm run stripe:trigger -- customer.subscription.updated --customer ${mirror?.customerId ?? 'cus_…'}`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`the plan of ${orgId} did not change: see the npm start output for stripeWebhook`);
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(1);
});
