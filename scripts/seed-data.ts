/**
 * The demo data of the local backend, in one place: two organizations with a person in every role, their
 * contacts, messages, configuration and billing mirror, and the Auth users to sign in as. `scripts/seed.ts`
 * writes the Auth part to emulator-data/ (the format `firebase emulators:start --import` reads) and seeds
 * Firestore from `demoDocuments`; every document is validated by the model's schema before it is written.
 */
import { Timestamp } from 'firebase-admin/firestore';
import type { z } from 'zod';
import {
  AUDIT_ENTRY_VERSION,
  auditEntrySchema,
  configSchema,
  contactSchema,
  MEMBER_VERSION,
  memberSchema,
  messageSchema,
  ORGANIZATION_VERSION,
  organizationSchema,
  paths,
  STRIPE_CUSTOMER_LINK_VERSION,
  stripeCustomerSchema,
  SUBSCRIPTION_MIRROR_VERSION,
  subscriptionMirrorSchema,
  userProfileSchema,
  type Role,
} from '@leadpulse/model';

export const demoProjectId = 'demo-leadpulse';
/** Every demo user's password (local emulators only). */
export const demoPassword = 'leadpulse-demo';
/** The Auth users' creation time: fixed, so that regenerating emulator-data/ changes nothing. */
const authCreatedAt = Date.UTC(2026, 0, 5, 9, 0, 0);

interface DemoOrg {
  id: string;
  name: string;
  domain: string;
  primaryColor: string;
  plan: string;
  subscription: { status: 'active' | 'trialing'; seats: number; customerId: string; subscriptionId: string; priceId: string };
  people: Record<Role, string>;
}

export const demoOrgs: readonly DemoOrg[] = [
  {
    id: 'acme',
    name: 'Acme Corp',
    domain: 'acme.example.com',
    primaryColor: '#d9480f',
    plan: 'pro',
    subscription: { status: 'active', seats: 10, customerId: 'cus_DemoAcme', subscriptionId: 'sub_DemoAcme', priceId: 'price_DemoPro' },
    people: { owner: 'Olivia Owens', admin: 'Adam Alvarez', member: 'Maya Moreau', viewer: 'Victor Vance' },
  },
  {
    id: 'globex',
    name: 'Globex',
    domain: 'globex.example.com',
    primaryColor: '#1864ab',
    plan: 'starter',
    subscription: { status: 'trialing', seats: 5, customerId: 'cus_DemoGlobex', subscriptionId: 'sub_DemoGlobex', priceId: 'price_DemoStarter' },
    people: { owner: 'Grace Okafor', admin: 'Hank Scorpio', member: 'Nina Patel', viewer: 'Omar Haddad' },
  },
];

export interface DemoUser {
  uid: string;
  email: string;
  displayName: string;
  orgId: string;
  role: Role;
}

const roles: readonly Role[] = ['owner', 'admin', 'member', 'viewer'];

export const demoUsers: readonly DemoUser[] = demoOrgs.flatMap((org) =>
  roles.map((role) => ({ uid: `${org.id}-${role}`, email: `${role}@${org.domain}`, displayName: org.people[role], orgId: org.id, role })),
);

// ---- Auth export (auth_export/accounts.json, config.json) ------------------------------------------------

/** The user records exactly as the Auth emulator exports them (its password hash is a readable fake). */
export function authAccounts(): { kind: string; users: unknown[] } {
  return {
    kind: 'identitytoolkit#DownloadAccountResponse',
    users: demoUsers.map((user) => {
      const salt = `fakeSalt${user.uid}`;
      return {
        localId: user.uid,
        email: user.email,
        emailVerified: true,
        displayName: user.displayName,
        salt,
        passwordHash: `fakeHash:salt=${salt}:password=${demoPassword}`,
        passwordUpdatedAt: authCreatedAt,
        validSince: String(Math.floor(authCreatedAt / 1000)),
        createdAt: String(authCreatedAt),
        lastLoginAt: String(authCreatedAt),
        providerUserInfo: [{ providerId: 'password', email: user.email, federatedId: user.email, rawId: user.email, displayName: user.displayName }],
      };
    }),
  };
}

export const authConfig = { signIn: { allowDuplicateEmails: false }, emailPrivacyConfig: { enableImprovedEmailPrivacy: false } };

// ---- Firestore documents ----------------------------------------------------------------------------------

const contactsOf: Record<string, { id: string; name: string; email: string; company: string; status: string; tags: string[] }[]> = {
  acme: [
    { id: 'c-ada', name: 'Ada Lovelace', email: 'ada@analytical.example', company: 'Analytical Engines', status: 'customer', tags: ['enterprise'] },
    { id: 'c-alan', name: 'Alan Turing', email: 'alan@bletchley.example', company: 'Bletchley Park', status: 'prospect', tags: ['warm', 'q3'] },
    { id: 'c-grace', name: 'Grace Hopper', email: 'grace@cobol.example', company: 'COBOL Ltd', status: 'lead', tags: [] },
  ],
  globex: [
    { id: 'c-homer', name: 'Homer Simpson', email: 'homer@plant.example', company: 'Springfield Power', status: 'lead', tags: ['inbound'] },
    { id: 'c-lisa', name: 'Lisa Simpson', email: 'lisa@school.example', company: 'Springfield Elementary', status: 'customer', tags: ['renewal'] },
  ],
};

/**
 * Documents by path, validated against the model's schemas; timestamps relative to `now`. Server-written ones
 * carry their kind's current `schemaVersion`, as the server writes them.
 */
export function demoDocuments(now: Date): Map<string, Record<string, unknown>> {
  const docs = new Map<string, Record<string, unknown>>();
  const at = (daysAgo: number) => Timestamp.fromMillis(now.getTime() - daysAgo * 86_400_000);
  const put = <S extends z.ZodType>(path: string, schema: S, data: unknown) => docs.set(path, schema.parse(data) as Record<string, unknown>);

  for (const org of demoOrgs) {
    const people = demoUsers.filter((u) => u.orgId === org.id);
    const uidOf = (role: Role) => {
      const person = people.find((p) => p.role === role);
      if (!person) throw new Error(`demo organization ${org.id} has no ${role}`);
      return person.uid;
    };
    put(paths.org(org.id), organizationSchema, {
      schemaVersion: ORGANIZATION_VERSION,
      name: org.name,
      branding: { primaryColor: org.primaryColor },
      ownerUid: uidOf('owner'),
      plan: org.plan,
      status: 'active',
      access: 'full',
      createdAt: at(120),
    });
    for (const person of people) {
      put(paths.member(org.id, person.uid), memberSchema, {
        schemaVersion: MEMBER_VERSION,
        uid: person.uid,
        orgId: org.id,
        role: person.role,
        access: 'full',
        email: person.email,
        displayName: person.displayName,
        joinedAt: at(person.role === 'owner' ? 120 : 90),
      });
      put(paths.user(person.uid), userProfileSchema, {
        displayName: person.displayName,
        email: person.email,
        locale: 'en',
        createdAt: at(120),
        updatedAt: at(30),
      });
      put(paths.auditEntry(org.id, `joined-${person.role}`), auditEntrySchema, {
        schemaVersion: AUDIT_ENTRY_VERSION,
        action: person.role === 'owner' ? 'org.created' : 'member.joined',
        actorUid: person.uid,
        targetUid: person.uid,
        targetId: org.id,
        details: { role: person.role },
        at: at(person.role === 'owner' ? 120 : 90),
      });
    }
    for (const [index, contact] of contactsOf[org.id].entries()) {
      const { id, ...fields } = contact;
      put(paths.contact(org.id, id), contactSchema, {
        ...fields,
        notes: `Met at the ${org.name} launch.`,
        createdBy: uidOf('member'),
        createdAt: at(60 - index),
        updatedAt: at(10 - index),
      });
      put(paths.message(org.id, `m-${id}-intro`), messageSchema, {
        contactId: id,
        channel: 'email',
        direction: 'outbound',
        subject: `Hello from ${org.name}`,
        body: `Hi ${contact.name.split(' ')[0]}, thanks for your interest in ${org.name}.`,
        sentBy: uidOf('member'),
        sentAt: at(9 - index),
      });
      put(paths.message(org.id, `m-${id}-reply`), messageSchema, {
        contactId: id,
        channel: 'email',
        direction: 'inbound',
        body: 'Thanks, let us talk next week.',
        sentBy: uidOf('member'),
        sentAt: at(8 - index),
      });
    }
    put(paths.config(org.id, 'general'), configSchema, {
      pipelineStages: ['New', 'Qualified', 'Proposal', 'Won', 'Lost'],
      defaultCurrency: org.id === 'acme' ? 'USD' : 'EUR',
      timezone: org.id === 'acme' ? 'America/New_York' : 'Europe/Berlin',
      updatedBy: uidOf('admin'),
      updatedAt: at(30),
    });
    const sub = org.subscription;
    put(paths.subscription(org.id), subscriptionMirrorSchema, {
      schemaVersion: SUBSCRIPTION_MIRROR_VERSION,
      customerId: sub.customerId,
      customerDeleted: false,
      subscriptionId: sub.subscriptionId,
      subscriptionCreated: Math.floor(at(100).toMillis() / 1000),
      status: sub.status,
      plan: org.plan,
      priceId: sub.priceId,
      seats: sub.seats,
      currentPeriodEnd: at(-20),
      cancelAtPeriodEnd: false,
      trialEnd: sub.status === 'trialing' ? at(-20) : null,
      lapsedSince: null,
      access: 'full',
      lastEventCreated: Math.floor(at(10).toMillis() / 1000),
      updatedAt: at(10),
    });
    put(paths.stripeCustomer(sub.customerId), stripeCustomerSchema, { schemaVersion: STRIPE_CUSTOMER_LINK_VERSION, orgId: org.id, createdAt: at(100) });
  }
  return docs;
}
