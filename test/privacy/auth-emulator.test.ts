/**
 * The Firebase Auth side of P4, P10 and P12 against firebase-tools' Auth emulator (pure Node, runs offline),
 * started in-process: the firebase-admin adapter deletes users idempotently, the operator claim is set only by
 * scripts/grant-operator.ts and re-read on every erasure, and the export endpoint verifies real ID tokens
 * (revocation included). The other privacy tests use an in-memory AccountAuth because this emulator takes
 * several seconds to start (measured and printed below).
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { getAuth, type Auth } from 'firebase-admin/auth';
import { getFirestore, type Firestore } from 'firebase-admin/firestore';
import { HttpsError } from 'firebase-functions/v2/https';
import { paths } from '@leadpulse/model';
import { adminAccountAuth } from '../../functions/src/accounts/account-auth';
import { deleteMyAccount, eraseUser, type AccountDeletionDeps } from '../../functions/src/accounts/account-deletion';
import type { Caller } from '../../functions/src/common/callable';
import { handleExportRequest } from '../../functions/src/privacy/export';
import { adminUserDirectory } from '../../functions/src/operations/restore-guard';
import { setOperator } from '../../scripts/grant-operator';
import { AUTH_EMULATOR_START_TIMEOUT_MS, startAuthEmulator, type RunningAuthEmulator } from '../support/auth-emulator';
import { START, freshProject, manualClock, recordingCancellation, seedOrg, seedUser } from './support';

let authEmulator: RunningAuthEmulator;
let authHost: string;
let app: App;
let auth: Auth;
let db: Firestore;
let closeDb: () => Promise<void>;
let projectId: string;

beforeAll(async () => {
  const started = Date.now();
  ({ db, projectId, close: closeDb } = freshProject('privacy-auth'));
  authEmulator = await startAuthEmulator(projectId);
  authHost = authEmulator.host;
  process.env.FIREBASE_AUTH_EMULATOR_HOST = authHost;
  console.log(`firebase-tools Auth emulator started in ${Date.now() - started} ms`);
  app = initializeApp({ projectId }, `auth-${projectId}`);
  auth = getAuth(app);
}, AUTH_EMULATOR_START_TIMEOUT_MS);

afterAll(async () => {
  await deleteApp(app);
  await closeDb();
  await authEmulator.stop();
  delete process.env.FIREBASE_AUTH_EMULATOR_HOST;
});

/** Signs in through the emulator's REST API as a client would, and returns the ID token. */
async function signIn(uid: string): Promise<string> {
  const customToken = await auth.createCustomToken(uid);
  const response = await fetch(`http://${authHost}/identitytoolkit.googleapis.com/v1/accounts:signInWithCustomToken?key=fake-api-key`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: customToken, returnSecureToken: true }),
  });
  const body = (await response.json()) as { idToken?: string };
  if (!body.idToken) throw new Error(`sign-in failed: ${JSON.stringify(body)}`);
  return body.idToken;
}

/** What firebase-functions hands a callable after verifying the token. */
async function callerFromToken(idToken: string): Promise<Caller> {
  const token = await auth.verifyIdToken(idToken);
  return { uid: token.uid, email: token.email ?? null, emailVerified: token.email_verified === true, claims: token as unknown as Record<string, unknown> };
}

function accountDeps(): AccountDeletionDeps {
  return { db, clock: () => new Date(), auth: adminAccountAuth(auth), orgDeletion: { graceDays: 7, cancelSubscription: recordingCancellation().cancel } };
}

async function exists(uid: string): Promise<boolean> {
  return auth.getUser(uid).then(
    () => true,
    (error: unknown) => {
      if ((error as { code?: string }).code === 'auth/user-not-found') return false;
      throw error;
    },
  );
}

describe('adminAccountAuth', () => {
  it('deletes an Auth user, and deleting one that is gone is not an error', async () => {
    await auth.createUser({ uid: 'gone-twice', email: 'gone-twice@example.com' });
    await auth.setCustomUserClaims('gone-twice', { plan: 'pro' });
    const accountAuth = adminAccountAuth(auth);
    expect(await accountAuth.customClaims('gone-twice')).toEqual({ plan: 'pro' });
    await accountAuth.deleteUser('gone-twice');
    expect(await exists('gone-twice')).toBe(false);
    await accountAuth.deleteUser('gone-twice');
    expect(await accountAuth.customClaims('gone-twice')).toEqual({});
  });
});

describe('operators (grant-operator script, eraseUser)', () => {
  it('only a user the script made an operator can erase, and only until it is revoked', async () => {
    await auth.createUser({ uid: 'op', email: 'op@example.com', emailVerified: true });
    await auth.setCustomUserClaims('op', { team: 'support' });
    for (const victim of ['child-1', 'child-2']) {
      await auth.createUser({ uid: victim, email: `${victim}@example.com` });
      await seedUser(db, victim, START, { consent: true });
    }

    // Before the grant, the operator's own token carries no operator claim.
    const before = await callerFromToken(await signIn('op'));
    await expect(eraseUser(accountDeps(), before, { uid: 'child-1', reason: 'child_under_13' })).rejects.toMatchObject({ code: 'permission-denied' });

    expect(await setOperator(auth, 'op', true)).toEqual({ team: 'support', operator: true });
    const operator = await callerFromToken(await signIn('op'));
    expect(operator.claims.operator).toBe(true);
    expect(await eraseUser(accountDeps(), operator, { uid: 'child-1', reason: 'child_under_13' })).toMatchObject({ status: 'deleted' });
    expect(await exists('child-1')).toBe(false);
    expect((await db.doc(paths.user('child-1')).get()).exists).toBe(false);

    // Revoked: the token issued before still says operator, and is refused all the same.
    expect(await setOperator(auth, 'op', false)).toEqual({ team: 'support' });
    const error = await eraseUser(accountDeps(), operator, { uid: 'child-2', reason: 'child_under_13' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpsError);
    expect((error as HttpsError).code).toBe('permission-denied');
    expect(await exists('child-2')).toBe(true);
  });
});

describe('deleteMyAccount with a real ID token', () => {
  it('deletes the Auth user along with the data', async () => {
    await auth.createUser({ uid: 'leaver', email: 'leaver@example.com', emailVerified: true });
    await seedUser(db, 'leaver', START, { consent: true });
    const leaver = await callerFromToken(await signIn('leaver'));
    expect(typeof leaver.claims.auth_time).toBe('number');
    expect(await deleteMyAccount(accountDeps(), leaver, { confirm: true })).toMatchObject({ status: 'deleted' });
    expect(await exists('leaver')).toBe(false);
    expect((await db.doc(paths.marketingConsent('leaver')).get()).exists).toBe(false);
  });
});

describe('exportData with firebase-admin verifyIdToken', () => {
  it('accepts a valid token and refuses it once the user is deleted', async () => {
    await auth.createUser({ uid: 'exporter', email: 'exporter@example.com', emailVerified: true });
    await seedOrg(db, { orgId: 'orgExport', now: START, members: [{ uid: 'exporter', role: 'owner' }], contacts: 2 });
    const deps = { db, clock: manualClock().clock, verifyIdToken: (token: string) => auth.verifyIdToken(token, true), verifyAppCheck: null };
    const server = createServer((req, res) => void handleExportRequest(deps, req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/?scope=organization&orgId=orgExport`;
      const idToken = await signIn('exporter');
      const ok = await fetch(url, { headers: { authorization: `Bearer ${idToken}` } });
      expect(ok.status).toBe(200);
      expect((await ok.text()).trimEnd().split('\n').pop()).toBe(JSON.stringify({ complete: true, documents: 5 }));
      await auth.deleteUser('exporter');
      const refused = await fetch(url, { headers: { authorization: `Bearer ${idToken}` } });
      expect(refused.status).toBe(401);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('the restore runbook’s user lookup (adminUserDirectory)', () => {
  it('names the uids that still have an Auth user, in batches of Auth’s limit of 100', async () => {
    await auth.createUser({ uid: 'restored-kept' });
    await auth.createUser({ uid: 'restored-deleted' });
    await auth.deleteUser('restored-deleted');
    const unknown = Array.from({ length: 150 }, (_, i) => `restored-never-${i}`);
    const existing = await adminUserDirectory(auth).existingUids(['restored-deleted', ...unknown, 'restored-kept']);
    expect([...existing]).toEqual(['restored-kept']);
  });

  it('scripts/restore.ts copies with the real Auth lookup and reports as JSON', async () => {
    await auth.createUser({ uid: 'script-owner' });
    const restored = getFirestore(app, 'restored');
    await seedOrg(restored, {
      orgId: 'orgScript',
      now: START,
      members: [
        { uid: 'script-owner', role: 'owner' },
        { uid: 'script-gone', role: 'member' },
      ],
      contacts: 1,
    });
    const script = join(__dirname, '..', '..', 'scripts', 'restore.ts');
    const tsx = join(__dirname, '..', '..', 'node_modules', '.bin', 'tsx');
    const env = { ...process.env, FIREBASE_AUTH_EMULATOR_HOST: authHost };
    const args = ['--project', projectId, '--restore-point', '2026-01-01T00:00:00Z'];
    const { stdout } = await promisify(execFile)(tsx, [script, 'copy', ...args, '--from', 'restored', '--path', paths.org('orgScript')], { env });
    const report = JSON.parse(stdout) as { copied: number; refused: Array<{ path: string; reason: string }> };
    expect(report.copied).toBe(3);
    expect(report.refused).toEqual([{ path: paths.member('orgScript', 'script-gone'), reason: 'the account is deleted (no Auth user)' }]);
    for (const path of [paths.org('orgScript'), paths.contact('orgScript', 'contact000000'), paths.member('orgScript', 'script-owner')]) {
      expect((await db.doc(path).get()).exists, path).toBe(true);
    }
  });
});
