/**
 * Rules conformance through `@firebase/rules-unit-testing`: each `withRules` block gets its own project on the
 * emulator the global setup points at, with its rules loaded. Runnable unchanged against Google's emulator.
 */
import { randomUUID } from 'node:crypto';
import { initializeTestEnvironment, type RulesTestEnvironment } from '@firebase/rules-unit-testing';
import { afterAll, beforeAll, describe, expect } from 'vitest';

export const offlineEmulator = Boolean(process.env.LEADPULSE_OFFLINE_EMULATOR);
/** This run's tag in project ids, so runs against a long-lived emulator never share a project. */
export const RUN = randomUUID().slice(0, 6);
let projects = 0;

export function emulator(): { host: string; port: number } {
  const value = process.env.FIRESTORE_EMULATOR_HOST;
  if (!value) throw new Error('FIRESTORE_EMULATOR_HOST is not set: run through vitest (global setup)');
  const url = new URL(`http://${value}`);
  return { host: url.hostname, port: Number(url.port) };
}

/** A describe block with its own project (`demo-<prefix>-…`) and rules; `env()` is its RulesTestEnvironment. */
export function withRules(prefix: string, title: string, rules: string, body: (env: () => RulesTestEnvironment) => void): void {
  describe(title, () => {
    let environment: RulesTestEnvironment | undefined;
    beforeAll(async () => {
      environment = await initializeTestEnvironment({ projectId: `demo-${prefix}-${RUN}-${++projects}`, firestore: { ...emulator(), rules } });
      // Rules semantics only: the index file the global setup enforces is the CRM's, not these examples'.
      if (offlineEmulator) {
        const { host, port } = emulator();
        const response = await fetch(`http://${host}:${port}/emulator/v1/projects/${environment.projectId}:indexes`, { method: 'DELETE' });
        expect(response.status).toBe(200);
      }
    });
    afterAll(async () => {
      await environment?.cleanup();
    });
    body(() => environment as RulesTestEnvironment);
  });
}
