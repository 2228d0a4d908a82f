/**
 * Writes the demo seed (scripts/seed-data.ts).
 *
 *   npx tsx scripts/seed.ts                        regenerate emulator-data/ (what `--import` reads)
 *   npx tsx scripts/seed.ts --firestore HOST:PORT  seed the Firestore emulator at HOST:PORT (ours or Google's)
 *
 * emulator-data/ holds the Auth export only. A Firestore export is a LevelDB log of Datastore entity protos
 * that only Google's emulator writes; without it here (it needs Java 21) we cannot produce or check one, so
 * Firestore is seeded through firebase-admin from the same source, by `npm start` or by the second form.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { deleteApp, initializeApp } from 'firebase-admin/app';
import { getFirestore } from 'firebase-admin/firestore';
import { authAccounts, authConfig, demoDocuments, demoProjectId } from './seed-data';

export const emulatorDataDir = join(__dirname, '..', 'emulator-data');

/** The files of emulator-data/, by relative path, exactly as written. */
export function emulatorDataFiles(): Map<string, string> {
  const cliVersion = (JSON.parse(readFileSync(require.resolve('firebase-tools/package.json'), 'utf8')) as { version: string }).version;
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return new Map([
    ['firebase-export-metadata.json', json({ version: cliVersion, auth: { version: cliVersion, path: 'auth_export' } })],
    ['auth_export/accounts.json', json(authAccounts())],
    ['auth_export/config.json', json(authConfig)],
  ]);
}

export function writeEmulatorData(dir = emulatorDataDir): void {
  for (const [file, content] of emulatorDataFiles()) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), content);
  }
}

/** Writes every demo document into the Firestore emulator at `host` (`host:port`), bypassing rules. */
export async function seedFirestore(host: string, projectId = demoProjectId): Promise<number> {
  process.env.FIRESTORE_EMULATOR_HOST = host;
  const app = initializeApp({ projectId }, `seed-${Date.now()}`);
  try {
    const db = getFirestore(app);
    const docs = [...demoDocuments(new Date())];
    for (let start = 0; start < docs.length; start += 400) {
      const batch = db.batch();
      for (const [path, data] of docs.slice(start, start + 400)) batch.set(db.doc(path), data);
      await batch.commit();
    }
    return docs.length;
  } finally {
    await deleteApp(app);
  }
}

async function main(): Promise<void> {
  const [flag, host] = process.argv.slice(2);
  if (flag === undefined) {
    writeEmulatorData();
    console.log(`Wrote ${[...emulatorDataFiles().keys()].join(', ')} under ${emulatorDataDir}`);
  } else if (flag === '--firestore' && host) {
    console.log(`Seeded ${await seedFirestore(host)} documents into ${host} (project ${demoProjectId})`);
  } else {
    throw new Error('usage: tsx scripts/seed.ts [--firestore HOST:PORT]');
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
