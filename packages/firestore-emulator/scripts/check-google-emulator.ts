/**
 * `npm run check:google-emulator`: what Google's emulator makes of our exports, where its JAR and Java 21+ are
 * on the machine (FIRESTORE_EMULATOR_JAR and JAVA override where they are looked for). Google's emulator is
 * seeded (`--seed_from_export`) with an export we wrote and asked for its own export, which we read back:
 * - the committed seed (emulator-data/): the same documents, and the same overall metadata bytes;
 * - generated documents of every value type (the round-trip test's generator, fixed seed): the same documents.
 */
import { spawn, spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import * as net from 'net';
import { homedir, tmpdir } from 'os';
import * as path from 'path';
import fc from 'fast-check';
import type { DocumentContents } from '../src/engine';
import { readExport, writeExport } from '../src/export';
import { canonicalDocuments, documents } from '../test/export/arbitraries';

const repository = path.resolve(__dirname, '../../..');
const GENERATED_RUNS = 20;

function findJar(): string | null {
  const candidates = [
    process.env.FIRESTORE_EMULATOR_JAR,
    '/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar',
    ...(() => {
      const cache = path.join(homedir(), '.cache', 'firebase', 'emulators');
      return existsSync(cache)
        ? readdirSync(cache)
            .filter((f) => /^cloud-firestore-emulator.*\.jar$/.test(f))
            .map((f) => path.join(cache, f))
        : [];
    })(),
  ];
  return candidates.find((file): file is string => file !== undefined && existsSync(file)) ?? null;
}

function javaMajor(java: string): number {
  const result = spawnSync(java, ['-version'], { encoding: 'utf8' });
  return result.error ? 0 : Number(/version "(\d+)/.exec(`${result.stderr}${result.stdout}`)?.[1] ?? 0);
}

function findJava(): string | null {
  const jvms = existsSync('/usr/lib/jvm') ? readdirSync('/usr/lib/jvm').map((jvm) => path.join('/usr/lib/jvm', jvm, 'bin', 'java')) : [];
  const candidates = [process.env.JAVA, 'java', ...jvms].filter((java): java is string => java !== undefined);
  return candidates.find((java) => javaMajor(java) >= 21) ?? null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Runs `body` against Google's emulator seeded from `seed`, then stops it. */
async function withGoogle<T>(java: string, jar: string, seed: string, body: (port: number) => Promise<T>): Promise<T> {
  const port = await freePort();
  const main = 'com.google.cloud.datastore.emulator.firestore.CloudFirestore';
  const args = ['-Duser.language=en', '-cp', jar, main, '--host', '127.0.0.1', '--port', String(port), '--seed_from_export', seed];
  const child = spawn(java, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ready = await fetch(`http://127.0.0.1:${port}/`).then(
        (response) => response.ok,
        () => false,
      );
      if (ready) break;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`Google's emulator did not start:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return await body(port);
  } finally {
    child.kill('SIGKILL');
  }
}

/** Google's export of the project's (default) database; returns its overall metadata file. */
async function exportFromGoogle(port: number, projectId: string, directory: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/emulator/v1/projects/${projectId}:export`, {
    method: 'POST',
    body: JSON.stringify({ database: `projects/${projectId}/databases/(default)`, export_directory: directory, export_name: 'google' }),
  });
  if (response.status !== 200) throw new Error(`Google's emulator refused the export: ${response.status} ${await response.text()}`);
  return path.join(directory, 'google', 'google.overall_export_metadata');
}

function same(a: readonly DocumentContents[], b: readonly DocumentContents[]): boolean {
  return JSON.stringify(canonicalDocuments(a)) === JSON.stringify(canonicalDocuments(b));
}

async function main(): Promise<void> {
  const jar = findJar();
  const java = findJava();
  if (!jar || !java) throw new Error(`cannot check: ${jar ? '' : "no JAR of Google's Firestore emulator; "}${java ? '' : 'no Java 21+'}`);
  console.log(`Google's emulator: ${jar} (Java ${javaMajor(java)})`);
  const scratch = mkdtempSync(path.join(tmpdir(), 'google-emulator-'));
  let failures = 0;
  const report = (ok: boolean, what: string) => {
    if (!ok) failures++;
    console.log(`${ok ? 'ok  ' : 'FAIL'}  ${what}`);
  };
  try {
    const seed = path.join(repository, 'emulator-data/firestore_export/firestore_export.overall_export_metadata');
    await withGoogle(java, jar, seed, async (port) => {
      const theirs = await exportFromGoogle(port, 'demo-leadpulse', mkdtempSync(path.join(scratch, 'seed-')));
      report(same(readExport(seed).documents, readExport(theirs).documents), 'emulator-data/: Google exports the documents it was seeded with');
      report(readFileSync(seed).equals(readFileSync(theirs)), 'emulator-data/: the overall metadata Google writes is byte for byte ours');
    });
    const samples = fc.sample(documents, { numRuns: GENERATED_RUNS, seed: 17 }).filter((docs) => docs.length > 0);
    for (const [i, docs] of samples.entries()) {
      const ours = writeExport(scratch, `generated-${i}`, { projectId: 'demo-export', databaseId: '(default)' }, docs, Date.now);
      await withGoogle(java, jar, ours, async (port) => {
        const theirs = readExport(await exportFromGoogle(port, 'demo-export', mkdtempSync(path.join(scratch, 'out-'))));
        report(same(docs, theirs.documents), `generated set ${i} (${docs.length} documents): Google reads and exports them unchanged`);
      });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  console.log(`${failures === 0 ? 'all' : failures} ${failures === 0 ? 'checks passed' : 'checks failed'}`);
  if (failures > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
