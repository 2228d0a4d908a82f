/**
 * One suite, two drivers. If FIRESTORE_EMULATOR_HOST already names an emulator (Google's, started by
 * `npm run test:emulator`), the tests run against it. Otherwise the offline emulator is started in-process on
 * a free port, and the variable is set before the test workers fork, so every SDK in them finds it.
 *
 * The offline emulator enforces `firestore.indexes.json` as production does: a query that needs an index the
 * file does not declare fails with FAILED_PRECONDITION naming it. After a run of the whole CRM suite, the
 * declared indexes no query used are listed (a partial run would list the ones only other files use).
 */
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { IndexConfiguration } from '@leadpulse/firestore-emulator';
import { indexesPath } from './indexes';

const root = join(__dirname, '..', '..');

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  // firebase-admin would otherwise probe for a Google Cloud metadata server in every worker.
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  if (process.env.FIRESTORE_EMULATOR_HOST) return;
  const { startEmulator } = await import('@leadpulse/firestore-emulator');
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0, indexesFile: indexesPath });
  process.env.FIRESTORE_EMULATOR_HOST = `${emulator.host}:${emulator.port}`;
  process.env.LEADPULSE_OFFLINE_EMULATOR = '1';
  return async () => {
    if (emulator.indexes) await reportUnusedIndexes(project, emulator.indexes);
    await emulator.stop();
  };
}

async function reportUnusedIndexes(project: TestProject, indexes: IndexConfiguration): Promise<void> {
  const suiteDir = join(root, 'test');
  const suiteFiles = (await project.globTestFiles()).testFiles.filter((file) => file.startsWith(suiteDir));
  const ran = new Set(project.vitest.state.getFiles().map((file) => file.filepath));
  if (!suiteFiles.every((file) => ran.has(file))) return;
  const unused = indexes.unusedIndexes();
  if (unused.length === 0) {
    console.log('firestore.indexes.json: every declared index served a query of the CRM suite.');
    return;
  }
  console.log(
    `firestore.indexes.json: ${unused.length} declared index(es) served no query of the CRM suite ` +
      `(not needed, or their query is not tested):\n${unused.map((index) => `  ${index.location}: ${index.description}`).join('\n')}`,
  );
}
