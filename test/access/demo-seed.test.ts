/**
 * The demo seed of `npm start`: emulator-data/ is exactly what scripts/seed.ts writes, every demo document
 * fits its schema, and under firestore.rules each demo user sees their own organization and nothing of the
 * other one.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLogLevel, type Firestore as ClientFirestore } from 'firebase/firestore';
import type { RulesTestEnvironment } from '@firebase/rules-unit-testing';
import { AUDIT_ENTRY_VERSION, MEMBER_VERSION, ORGANIZATION_VERSION, paths, STRIPE_CUSTOMER_LINK_VERSION, SUBSCRIPTION_MIRROR_VERSION } from '@leadpulse/model';
import { exportFiles, readExport, startEmulator, type DocumentContents } from '@leadpulse/firestore-emulator';
import { emulatorDataDir, emulatorDataFiles, seedDate, seedFirestore } from '../../scripts/seed';
import { demoDocuments, demoOrgs, demoUsers } from '../../scripts/seed-data';
import { uniqueProjectId } from '../support/firestore';
import { outcome, rulesTestEnvironment } from '../support/rules';
import { runOnClient } from './requests';
import { present } from '../support/present';

const projectId = uniqueProjectId('access-demo');
const previousHost = process.env.FIRESTORE_EMULATOR_HOST;
const offlineEmulator = Boolean(process.env.LEADPULSE_OFFLINE_EMULATOR);
let env: RulesTestEnvironment;

beforeAll(async () => {
  setLogLevel('silent');
  await seedFirestore(present(process.env.FIRESTORE_EMULATOR_HOST, 'FIRESTORE_EMULATOR_HOST'), projectId);
  env = await rulesTestEnvironment(projectId);
});

afterAll(async () => {
  await env?.cleanup();
});

describe('emulator-data', () => {
  it.each([...emulatorDataFiles()])(
    '%s is what scripts/seed.ts writes (run `npx tsx scripts/seed.ts` after changing the seed; after `npm start` wrote local data here, `git checkout emulator-data` or `npm start -- --from-seed` restores it)',
    (file, content) => {
      expect(readFileSync(join(emulatorDataDir, file)).equals(Buffer.from(content))).toBe(true);
    },
  );

  // The export is built from the seed data without the SDK; firebase-admin must store exactly the same.
  it.skipIf(!offlineEmulator)('holds in its Firestore export exactly what seeding through firebase-admin stores', async () => {
    const emulator = await startEmulator({ port: 0 });
    try {
      const seeded = 'demo-seed-export';
      await seedFirestore(`${emulator.host}:${emulator.port}`, seeded, seedDate);
      const asExport = (documents: DocumentContents[]) => exportFiles('x', { projectId: seeded, databaseId: '(default)' }, documents, () => 0);
      const committed = readExport(join(emulatorDataDir, 'firestore_export/firestore_export.overall_export_metadata'));
      expect(committed.documents.length).toBe(demoDocuments(seedDate).size);
      expect(asExport(emulator.engine.database(seeded, '(default)').exportDocuments())).toEqual(asExport(committed.documents));
    } finally {
      process.env.FIRESTORE_EMULATOR_HOST = previousHost;
      await emulator.stop();
    }
  });

  it('has a verified e-mail and password user for every role of both organizations', () => {
    const accounts = JSON.parse(String(emulatorDataFiles().get('auth_export/accounts.json'))) as {
      users: { localId: string; emailVerified: boolean; passwordHash: string }[];
    };
    expect(accounts.users.map((u) => u.localId).sort()).toEqual(demoUsers.map((u) => u.uid).sort());
    expect(accounts.users.every((u) => u.emailVerified && u.passwordHash.startsWith('fakeHash:'))).toBe(true);
    expect(new Set(demoUsers.map((u) => `${u.orgId}/${u.role}`)).size).toBe(demoOrgs.length * 4);
  });
});

describe('demo data under the rules', () => {
  it('has contacts, messages, configuration and a billing mirror in each organization', () => {
    const docs = [...demoDocuments(new Date()).keys()];
    for (const org of demoOrgs) {
      for (const prefix of [paths.contacts(org.id), paths.messages(org.id), paths.configs(org.id), paths.billingDocs(org.id)]) {
        expect(
          docs.some((path) => path.startsWith(`${prefix}/`)),
          prefix,
        ).toBe(true);
      }
    }
  });

  it('stamps every server-written document with its kind’s current version, and no client-written one', () => {
    const versionOf = (path: string): number | undefined => {
      const segments = path.split('/');
      if (segments[0] === 'stripeCustomers') return STRIPE_CUSTOMER_LINK_VERSION;
      if (segments[0] !== 'orgs') return undefined;
      if (segments.length === 2) return ORGANIZATION_VERSION;
      return { members: MEMBER_VERSION, auditLog: AUDIT_ENTRY_VERSION, billing: SUBSCRIPTION_MIRROR_VERSION }[segments[2]];
    };
    const docs = [...demoDocuments(seedDate)];
    expect(docs.filter(([path]) => versionOf(path) !== undefined).length).toBeGreaterThan(docs.length / 3);
    for (const [path, data] of docs) expect(data.schemaVersion, path).toBe(versionOf(path));
  });

  it.each(demoUsers.map((u) => [u.email, u] as const))('%s reads their organization and nothing of the other', async (_email, user) => {
    const db = env.authenticatedContext(user.uid).firestore() as unknown as ClientFirestore;
    const other = present(
      demoOrgs.find((org) => org.id !== user.orgId),
      'another demo organization',
    ).id;
    const can = async (request: Parameters<typeof runOnClient>[1]) => (await outcome(() => runOnClient(db, request))).allowed;
    expect(await can({ kind: 'list', collectionPath: paths.contacts(user.orgId) })).toBe(true);
    expect(await can({ kind: 'get', path: paths.org(user.orgId) })).toBe(true);
    expect(await can({ kind: 'get', path: paths.subscription(user.orgId) })).toBe(user.role === 'owner' || user.role === 'admin');
    expect(await can({ kind: 'list', collectionPath: paths.contacts(other) })).toBe(false);
    expect(await can({ kind: 'get', path: paths.org(other) })).toBe(false);
    const memberships = (await runOnClient(db, { kind: 'group', collectionId: 'members', where: { field: 'uid', value: user.uid } })) as {
      docs: { ref: { path: string } }[];
    };
    expect(memberships.docs.map((d) => d.ref.path)).toEqual([paths.member(user.orgId, user.uid)]);
  });
});
