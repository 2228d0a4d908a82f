/**
 * The organization's server-owned fields, `schemaVersion` among them, survive every client write the rules allow:
 * an owner's rename through `updateDoc` or a merging `setDoc` leaves them as stored, and a `setDoc` without merge
 * that drops one (a client built before the field existed sends the document as it knew it) is denied whole.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteField, doc, getDoc, setDoc, setLogLevel, updateDoc, type DocumentData, type Firestore as ClientFirestore } from 'firebase/firestore';
import type { RulesTestEnvironment } from '@firebase/rules-unit-testing';
import { ORGANIZATION_VERSION, paths } from '@leadpulse/model';
import { adminFirestore, uniqueProjectId } from '../support/firestore';
import { outcome, rulesTestEnvironment } from '../support/rules';
import { principals } from './contract';
import { laneSeed, orgIds, writeSeed } from './fixtures';

const projectId = uniqueProjectId('access-server-fields');
const admin = adminFirestore(projectId);
const orgPath = paths.org(orgIds.A);
let env: RulesTestEnvironment;
let owner: ClientFirestore;

beforeAll(async () => {
  setLogLevel('silent');
  await writeSeed(admin.db, laneSeed('active', principals, false));
  env = await rulesTestEnvironment(projectId);
  owner = env.authenticatedContext('u-owner-a').firestore() as unknown as ClientFirestore;
});

afterAll(async () => {
  await env?.cleanup();
  await admin.close();
});

const storedOrg = async (): Promise<DocumentData> => (await admin.db.doc(orgPath).get()).data() ?? {};
/** The organization as the owner's client reads it. */
const clientCopy = async (): Promise<DocumentData> => (await getDoc(doc(owner, orgPath))).data() ?? {};
const allowed = async (write: () => Promise<unknown>) => (await outcome(write)).allowed;

describe('server-owned fields of the organization under client writes', () => {
  it('the seeded organization carries the version the server stamps', async () => {
    expect(await storedOrg()).toMatchObject({ schemaVersion: ORGANIZATION_VERSION });
  });

  it('a rename by updateDoc and by a merging setDoc is allowed and keeps the version', async () => {
    expect(await allowed(() => updateDoc(doc(owner, orgPath), { name: 'Renamed by update' }))).toBe(true);
    expect(await storedOrg()).toMatchObject({ name: 'Renamed by update', schemaVersion: ORGANIZATION_VERSION });
    expect(await allowed(() => setDoc(doc(owner, orgPath), { name: 'Renamed by merge' }, { merge: true }))).toBe(true);
    expect(await storedOrg()).toMatchObject({ name: 'Renamed by merge', schemaVersion: ORGANIZATION_VERSION });
  });

  it('a setDoc without merge is allowed with every server field as stored, and denied whole when it drops one', async () => {
    const before = await storedOrg();
    const { schemaVersion, ...withoutVersion } = await clientCopy();
    expect(schemaVersion).toBe(ORGANIZATION_VERSION);
    expect(await allowed(() => setDoc(doc(owner, orgPath), { ...withoutVersion, name: 'Dropped the version' }))).toBe(false);
    const { plan, ...withoutPlan } = await clientCopy();
    expect(plan).toBe('pro');
    expect(await allowed(() => setDoc(doc(owner, orgPath), { ...withoutPlan, name: 'Dropped the plan' }))).toBe(false);
    expect(await storedOrg()).toEqual(before);

    expect(await allowed(async () => setDoc(doc(owner, orgPath), { ...(await clientCopy()), name: 'Kept everything' }))).toBe(true);
    expect(await storedOrg()).toEqual({ ...before, name: 'Kept everything' });
  });

  it('a client may not remove, lower or raise the version', async () => {
    const before = await storedOrg();
    for (const schemaVersion of [deleteField(), 1, ORGANIZATION_VERSION + 1]) {
      expect(await allowed(() => updateDoc(doc(owner, orgPath), { name: 'Versioned by a client', schemaVersion }))).toBe(false);
    }
    expect(await storedOrg()).toEqual(before);
  });
});
