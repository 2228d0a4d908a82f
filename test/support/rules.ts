/**
 * Rules tests through `@firebase/rules-unit-testing`, against whichever emulator FIRESTORE_EMULATOR_HOST names
 * (ours, started by the global setup, or Google's under `npm run test:emulator`), with the repository's
 * firestore.rules loaded for the test's own project.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initializeTestEnvironment, type RulesTestEnvironment } from '@firebase/rules-unit-testing';

export const rulesPath = join(__dirname, '..', '..', 'firestore.rules');

/** True when our offline emulator drives the suite: only it reports rules lookups. */
export const offlineEmulator = Boolean(process.env.LEADPULSE_OFFLINE_EMULATOR);

function emulatorHostPort(): { host: string; port: number } {
  const value = process.env.FIRESTORE_EMULATOR_HOST;
  if (!value) throw new Error('FIRESTORE_EMULATOR_HOST is not set: run through vitest (global setup)');
  const url = new URL(`http://${value}`);
  return { host: url.hostname, port: Number(url.port) };
}

export function rulesTestEnvironment(projectId: string): Promise<RulesTestEnvironment> {
  return initializeTestEnvironment({
    projectId,
    firestore: { ...emulatorHostPort(), rules: readFileSync(rulesPath, 'utf8') },
  });
}

/** Whether a client call was allowed; anything other than PERMISSION_DENIED is a test failure, thrown. */
export async function outcome(call: () => Promise<unknown>): Promise<{ allowed: boolean; value?: unknown }> {
  try {
    return { allowed: true, value: await call() };
  } catch (error) {
    if ((error as { code?: string }).code === 'permission-denied') return { allowed: false };
    throw error;
  }
}

export interface RulesDecision {
  seq: number;
  method: 'get' | 'list' | 'write';
  path: string;
  allowed: boolean;
  lookups: number;
  message?: string;
}

/**
 * The offline emulator's log of rules decisions for one project (`GET :rulesDecisions`, our extension), read
 * incrementally: `next()` returns the decisions made since the previous call.
 */
export class RulesDecisionReader {
  private lastSeq = 0;

  constructor(private readonly projectId: string) {}

  async next(): Promise<RulesDecision[]> {
    const { host, port } = emulatorHostPort();
    const response = await fetch(`http://${host}:${port}/emulator/v1/projects/${this.projectId}:rulesDecisions?since=${this.lastSeq}`);
    if (!response.ok) throw new Error(`rulesDecisions for ${this.projectId}: HTTP ${response.status} ${await response.text()}`);
    const { decisions } = (await response.json()) as { decisions: RulesDecision[] };
    if (decisions.length > 0) this.lastSeq = decisions[decisions.length - 1].seq;
    return decisions;
  }
}
