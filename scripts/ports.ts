/**
 * `npm start` checks every port it is about to use before starting anything, so that a busy port is one clear line
 * naming the emulator and where its port is configured, not a stack trace from whichever server hit it first.
 */
import { createServer } from 'node:net';

export interface PlannedPort {
  /** What will listen there, e.g. "Firestore emulator". */
  name: string;
  host: string;
  port: number;
}

export class PortBusyError extends Error {}

/** Resolves when every port can be bound; rejects with a PortBusyError for the first one that cannot. */
export async function assertPortsFree(planned: readonly PlannedPort[]): Promise<void> {
  for (const entry of planned) {
    const problem = await bindProblem(entry.host, entry.port);
    if (problem === null) continue;
    const why = problem === 'EADDRINUSE' ? 'is already in use' : `cannot be opened (${problem})`;
    throw new PortBusyError(
      `${entry.host}:${entry.port} (${entry.name}) ${why}: stop what holds it (\`lsof -i :${entry.port}\`) or change its port in firebase.json.`,
    );
  }
}

function bindProblem(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    probe.listen(port, host, () => probe.close(() => resolve(null)));
  });
}
