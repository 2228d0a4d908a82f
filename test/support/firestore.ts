import { randomUUID } from 'node:crypto';
import { deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { getFirestore, type Firestore } from 'firebase-admin/firestore';

/** A project id no other test file uses, so files can run in parallel against one emulator. */
export function uniqueProjectId(topic: string): string {
  return `demo-${topic}-${randomUUID().slice(0, 8)}`;
}

/** A uid no other test uses: `<label>-<8 hex>`. */
export function uniqueUid(label: string): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/**
 * firebase-admin's Firestore for `projectId`, talking to whatever FIRESTORE_EMULATOR_HOST names (ours or
 * Google's). Call `close()` in afterAll.
 */
export function adminFirestore(projectId: string): { db: Firestore; app: App; close: () => Promise<void> } {
  if (!process.env.FIRESTORE_EMULATOR_HOST) throw new Error('FIRESTORE_EMULATOR_HOST is not set: run through vitest (global setup)');
  const app = initializeApp({ projectId }, `${projectId}-${randomUUID()}`);
  const db = getFirestore(app);
  return { db, app, close: () => deleteApp(app) };
}
