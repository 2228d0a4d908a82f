/**
 * An internal error (a bug in the emulator) must reach the client that made the request. The SDKs retry a
 * failed Listen stream whatever its status, so an error that failed the stream would be silent: the web SDK
 * would go offline and answer getDocs from its cache. It must fail the target instead. A policy that throws
 * stands in for the bug; its own emulator, so no other test sees it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { deleteApp, initializeApp } from 'firebase/app';
import { collection, connectFirestoreEmulator, getDocs, initializeFirestore, setLogLevel, terminate } from 'firebase/firestore';
import { startEmulator, type RunningEmulator } from '../../src';
import type { AccessPolicy } from '../../src/engine/api';

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startEmulator({ host: '127.0.0.1', port: 0 });
});
afterAll(() => emulator.stop());

const failing: AccessPolicy = {
  authorizeGet: () => ({ allowed: true, lookups: 0 }),
  authorizeWrites: () => ({ allowed: true, lookups: 0 }),
  authorizeQuery: () => {
    throw new TypeError('the stand-in bug');
  },
};

it('an internal error evaluating a query fails that query as INTERNAL, and is logged', async () => {
  const projectId = `demo-internal-${randomUUID().slice(0, 8)}`;
  emulator.engine.setAccessPolicy(projectId, failing);
  const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  setLogLevel('silent');
  const app = initializeApp({ projectId, apiKey: 'fake-api-key' }, `${projectId}-web`);
  const db = initializeFirestore(app, {});
  connectFirestoreEmulator(db, emulator.host, emulator.port);
  try {
    const outcome = await getDocs(collection(db, 'things')).then(
      (snapshot) => `resolved with ${snapshot.size} documents (fromCache: ${String(snapshot.metadata.fromCache)})`,
      (error: unknown) => error,
    );
    expect(outcome).toMatchObject({ code: 'internal', message: expect.stringContaining('the stand-in bug') as unknown });
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('internal error'), expect.any(TypeError));
  } finally {
    logged.mockRestore();
    await terminate(db);
    await deleteApp(app);
  }
});
