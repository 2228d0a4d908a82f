/**
 * Writes the demo seed (scripts/seed-data.ts).
 *
 *   npx tsx scripts/seed.ts                        regenerate emulator-data/ (what `--import` reads)
 *   npx tsx scripts/seed.ts --firestore HOST:PORT  seed the Firestore emulator at HOST:PORT (ours or Google's)
 *
 * emulator-data/ is a Firebase CLI export directory: the Auth export and the Firestore export in the format of
 * Google's emulator (written by our emulator's export module), so `npm start`, `firebase emulators:start
 * --import emulator-data` and our `--import` all start from the same data. Its timestamps are relative to a
 * fixed date, so regenerating it changes nothing.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { deleteApp, initializeApp } from 'firebase-admin/app';
import { getFirestore, Timestamp } from 'firebase-admin/firestore';
import { createEngine, exportFiles, firebaseMetadataEntry, FIRESTORE_EXPORT_NAME, type DocumentContents, type Value } from '@leadpulse/firestore-emulator';
import { authAccounts, authConfig, demoDocuments, demoProjectId } from './seed-data';

export const emulatorDataDir = join(__dirname, '..', 'emulator-data');
/** The instant the committed seed's timestamps are relative to (and its export's recorded time). */
export const seedDate = new Date(Date.UTC(2026, 0, 5, 9, 0, 0));

/**
 * A seed field as firebase-admin sends it: safe integers as integers, other numbers as doubles; Timestamps,
 * strings, booleans, null, arrays and plain objects. The demo-seed test checks this against firebase-admin.
 */
function toValue(value: unknown, where: string): Value {
  if (value === null) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { booleanValue: value };
  if (typeof value === 'number') return Number.isSafeInteger(value) && !Object.is(value, -0) ? { integerValue: String(value) } : { doubleValue: value };
  if (value instanceof Timestamp) return { timestampValue: { seconds: String(value.seconds), nanos: value.nanoseconds } };
  if (Array.isArray(value)) return { arrayValue: { values: value.map((element, i) => toValue(element, `${where}[${i}]`)) } };
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return { mapValue: { fields: toFields(value as Record<string, unknown>, where) } };
  }
  throw new Error(`${where}: the seed holds a value of an unsupported type`);
}

function toFields(data: Record<string, unknown>, where: string): Record<string, Value> {
  return Object.fromEntries(Object.entries(data).map(([key, value]) => [key, toValue(value, `${where}.${key}`)]));
}

/**
 * The demo documents as the Firestore export holds them: through the emulator's import (which validates them)
 * and export, so they are in the order an export on exit writes them.
 */
export function seedDocuments(now = seedDate): DocumentContents[] {
  const database = createEngine().database(demoProjectId, '(default)');
  database.importDocuments([...demoDocuments(now)].map(([path, data]) => ({ segments: path.split('/'), fields: toFields(data, path) })));
  return database.exportDocuments();
}

/** The files of emulator-data/, by relative path, exactly as written. */
export function emulatorDataFiles(): Map<string, string | Buffer> {
  const cliVersion = (JSON.parse(readFileSync(require.resolve('firebase-tools/package.json'), 'utf8')) as { version: string }).version;
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  const firestore = exportFiles(FIRESTORE_EXPORT_NAME, { projectId: demoProjectId, databaseId: '(default)' }, seedDocuments(), () => seedDate.getTime());
  return new Map<string, string | Buffer>([
    ['firebase-export-metadata.json', json({ version: cliVersion, auth: { version: cliVersion, path: 'auth_export' }, firestore: firebaseMetadataEntry() })],
    ['auth_export/accounts.json', json(authAccounts())],
    ['auth_export/config.json', json(authConfig)],
    ...[...firestore].map(([file, data]) => [`${FIRESTORE_EXPORT_NAME}/${file}`, data] as const),
  ]);
}

export function writeEmulatorData(dir = emulatorDataDir): void {
  for (const [file, content] of emulatorDataFiles()) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), content);
  }
}

/** Writes every demo document into the Firestore emulator at `host` (`host:port`), bypassing rules. */
export async function seedFirestore(host: string, projectId = demoProjectId, now = new Date()): Promise<number> {
  process.env.FIRESTORE_EMULATOR_HOST = host;
  const app = initializeApp({ projectId }, `seed-${Date.now()}`);
  try {
    const db = getFirestore(app);
    const docs = [...demoDocuments(now)];
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
