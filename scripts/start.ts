/**
 * `npm start`: the whole local backend with the demo seed.
 *
 * - Firestore: Google's emulator when Java 21+ and its JAR (downloaded once by firebase-tools) are present,
 *   started by the Firebase CLI with firebase.json's rules; otherwise our offline emulator, in this process,
 *   with firestore.rules loaded.
 * - Auth and Functions: the Firebase CLI's emulators (they need no network), Auth imported from
 *   emulator-data/, Functions built from functions/ first.
 * - Firestore is then seeded through firebase-admin from scripts/seed-data.ts (emulator-data/ has no
 *   Firestore export: see scripts/seed.ts).
 *
 * It prints one ready table (every emulator's URL, the data viewer, the demo sign-ins, how to verify an e-mail);
 * a busy port is one line naming it, checked before anything starts. Ctrl-C stops everything.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type RunningEmulator } from '@leadpulse/firestore-emulator';
import { assertPortsFree, PortBusyError } from './ports';
import { demoPassword, demoProjectId, demoUsers } from './seed-data';
import { emulatorDataDir, seedFirestore } from './seed';

const root = join(__dirname, '..');

interface HostPort {
  host: string;
  port: number;
}
interface EmulatorPorts {
  auth: HostPort;
  functions: HostPort;
  firestore: HostPort;
  hub: HostPort;
}

function emulatorPorts(): EmulatorPorts {
  const config = JSON.parse(readFileSync(join(root, 'firebase.json'), 'utf8')) as { emulators: EmulatorPorts };
  return config.emulators;
}

/** Google's Firestore emulator runs only on Java 21+, from the JAR firebase-tools downloads into its cache. */
function googleFirestoreAvailable(): { ok: true } | { ok: false; why: string } {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (java.error) return { ok: false, why: 'no java on PATH' };
  const major = Number(/version "(\d+)/.exec(`${java.stderr}${java.stdout}`)?.[1] ?? 0);
  if (major < 21) return { ok: false, why: `Java ${major || 'unknown'} (Google's emulator needs 21+)` };
  // The file firebase-tools expects (lib/emulator/downloadableEmulatorInfo.json), in its emulator cache.
  const info = JSON.parse(readFileSync(require.resolve('firebase-tools/lib/emulator/downloadableEmulatorInfo.json'), 'utf8')) as {
    firestore: { downloadPathRelativeToCacheDir: string };
  };
  const cacheDir = process.env.FIREBASE_EMULATORS_PATH ?? join(homedir(), '.cache', 'firebase', 'emulators');
  const jar = join(cacheDir, info.firestore.downloadPathRelativeToCacheDir);
  return existsSync(jar) ? { ok: true } : { ok: false, why: `${jar} is not downloaded` };
}

/** Bundles functions/ into functions/lib/index.js (the build deploy uses), which the Functions emulator loads. */
function buildFunctions(): void {
  const build = spawnSync('npm', ['run', 'build', '--workspace', 'functions'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`functions/ did not build:\n${build.stdout}${build.stderr}`);
}

function waitForExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
}

/**
 * Resolves when the CLI prints that its emulators are ready (after Functions have loaded), rejects if it exits.
 * Its own banner and table are not echoed (ours is the one ready table); a failure shows what it printed.
 */
function waitUntilReady(cli: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    let ready = false;
    cli.stdout!.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (ready) {
        process.stdout.write(text);
        return;
      }
      output = (output + text).slice(-20_000);
      if (output.includes('All emulators ready')) {
        ready = true;
        resolve();
      }
    });
    cli.once('exit', (code) => {
      if (!ready) reject(new Error(`the Firebase CLI exited (code ${code}) before its emulators were ready:\n${output}`));
    });
  });
}

function printReadyTable(ports: EmulatorPorts, googleFirestore: boolean): void {
  const url = (hp: HostPort, path = '') => `http://${hp.host}:${hp.port}${path}`;
  const rows: [string, string, string][] = [
    ['Firestore', url(ports.firestore), googleFirestore ? "Google's emulator, firebase.json rules" : 'offline emulator, firestore.rules (gRPC, REST, WebChannel)'],
    ['Data viewer', googleFirestore ? '-' : url(ports.firestore, '/'), googleFirestore ? "Google's emulator has none here (its Emulator UI is a download)" : 'collections, documents, rules decisions, clear data'],
    ['Auth', url(ports.auth), `FIREBASE_AUTH_EMULATOR_HOST=${ports.auth.host}:${ports.auth.port}`],
    ['Functions', url(ports.functions, `/${demoProjectId}/us-central1/<name>`), 'callables and HTTP functions'],
  ];
  const width = (column: number) => Math.max(...rows.map((row) => row[column].length));
  const users = demoUsers.map((u) => [u.email, u.role, u.orgId, u.displayName]);
  const userWidth = (column: number) => Math.max(...users.map((row) => row[column].length));
  const lines = [
    '',
    `LeadPulse local backend is ready: project ${demoProjectId} (Ctrl-C to stop)`,
    '',
    ...rows.map(([name, address, note]) => `  ${name.padEnd(width(0))}  ${address.padEnd(width(1))}  ${note}`),
    '',
    `Demo sign-ins (password for every one: ${demoPassword})`,
    ...users.map((row) => `  ${row.map((cell, column) => cell.padEnd(userWidth(column))).join('  ')}`.trimEnd()),
    '',
    "A new user's e-mail verification: after the app calls sendEmailVerification, open the oobLink listed by",
    `  curl -s ${url(ports.auth, `/emulator/v1/projects/${demoProjectId}/oobCodes`)}`,
    '',
  ];
  console.log(lines.join('\n'));
}

async function main(): Promise<void> {
  // firebase-admin (seeding) would otherwise probe for a Google Cloud metadata server.
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const ports = emulatorPorts();
  await assertPortsFree([
    { name: 'Firestore emulator', ...ports.firestore },
    { name: 'Auth emulator', ...ports.auth },
    { name: 'Functions emulator', ...ports.functions },
    { name: 'emulator hub', ...ports.hub },
  ]);
  const google = googleFirestoreAvailable();
  console.log(google.ok ? "Firestore: Google's emulator" : `Firestore: the offline emulator (Google's is unavailable: ${google.why})`);

  buildFunctions();

  let ours: RunningEmulator | undefined;
  if (!google.ok) ours = await startEmulator({ ...ports.firestore, rulesFile: join(root, 'firestore.rules') });
  const firestoreHost = `${ports.firestore.host}:${ports.firestore.port}`;

  const only = google.ok ? 'auth,functions,firestore' : 'auth,functions';
  const cli = spawn(process.execPath, [require.resolve('firebase-tools/lib/bin/firebase.js'), 'emulators:start', '--only', only, '--project', demoProjectId, '--import', emulatorDataDir], {
    cwd: root,
    // Functions reach our Firestore through this variable (the CLI sets it itself for its own emulator).
    env: google.ok ? process.env : { ...process.env, FIRESTORE_EMULATOR_HOST: firestoreHost },
    stdio: ['ignore', 'pipe', 'inherit'],
    // Its own process group: Ctrl-C reaches only us, and we forward one SIGINT (two would skip its clean shutdown).
    detached: true,
  });

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping the emulators...');
    if (cli.exitCode === null) cli.kill('SIGINT');
    await waitForExit(cli);
    await ours?.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  cli.on('exit', (code) => {
    if (!stopping) {
      console.error(`The Firebase CLI exited (code ${code}).`);
      void stop(code ?? 1);
    }
  });

  try {
    await waitUntilReady(cli);
    const count = await seedFirestore(firestoreHost);
    console.log(`Seeded ${count} Firestore documents.`);
    printReadyTable(ports, google.ok);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    await stop(1);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof PortBusyError ? error.message : error);
  process.exit(1);
});
