/**
 * `npm start`: the whole local backend with the demo seed.
 *
 * - Firestore: Google's emulator when Java 21+ and its JAR (downloaded once by firebase-tools) are present,
 *   started by the Firebase CLI with firebase.json's rules; otherwise our offline emulator, in this process,
 *   with firestore.rules loaded.
 * - Auth and Functions: the Firebase CLI's emulators (they need no network), Functions built from functions/ first.
 * - Data: like `firebase emulators:start --import emulator-data --export-on-exit emulator-data`: every emulator
 *   starts from emulator-data/ and writes back to it on exit (Ctrl-C), so what you create locally is there at
 *   the next start. `npm start -- --from-seed` first rewrites emulator-data/ with the committed seed
 *   (scripts/seed.ts), discarding local changes.
 * - Stripe: the local Stripe (packages/stripe-local) on port 12111, forwarding signed events to the local
 *   stripeWebhook; the functions reach it through STRIPE_API_URL (functions/.env.demo-leadpulse) with the
 *   secrets this script writes to functions/.secret.local (unless you keep your own there).
 *
 * It prints one ready table (every emulator's URL, the data viewer, the demo sign-ins, how to verify an e-mail);
 * a busy port is one line naming it, checked before anything starts. Ctrl-C stops everything.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmulator, type RunningEmulator } from '@leadpulse/firestore-emulator';
import { LOCAL_STRIPE_PORT, LOCAL_STRIPE_SECRET_KEY, LocalStripe } from '@leadpulse/stripe-local';
import { parseBillingCatalog } from '../functions/src/billing/catalog';
import { assertPortsFree, PortBusyError } from './ports';
import { demoOrgs, demoPassword, demoProjectId, demoUsers } from './seed-data';
import { emulatorDataDir, writeEmulatorData } from './seed';

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

/** The signing secret the local Stripe signs with and the local stripeWebhook verifies. */
const localWebhookSecret = 'whsec_local_npm_start';
const localSecretsMarker = '# Written by npm start for the local Stripe; delete it to use your own Stripe test keys.';

/**
 * The Functions emulator reads secrets from functions/.secret.local only. Writes the local Stripe's there, unless
 * the file is the developer's own (real test keys for the Stripe CLI flow): then it is left alone.
 */
function ensureLocalStripeSecrets(): 'local' | 'yours' {
  const file = join(root, 'functions', '.secret.local');
  if (existsSync(file) && !readFileSync(file, 'utf8').startsWith(localSecretsMarker)) return 'yours';
  const lines = [
    localSecretsMarker,
    `STRIPE_SECRET_KEY=${LOCAL_STRIPE_SECRET_KEY}`,
    `STRIPE_WEBHOOK_SECRET=${localWebhookSecret}`,
    'STRIPE_WEBHOOK_SECRET_PREVIOUS=none',
  ];
  writeFileSync(file, `${lines.join('\n')}\n`);
  return 'local';
}

/** The local Stripe, knowing the demo catalog's prices and promotion codes, forwarding to the local webhook. */
async function startLocalStripe(ports: EmulatorPorts): Promise<LocalStripe> {
  const env = readFileSync(join(root, 'functions', `.env.${demoProjectId}`), 'utf8');
  const catalogLine = env.split('\n').find((line) => line.startsWith('BILLING_CATALOG='));
  if (!catalogLine) throw new Error(`functions/.env.${demoProjectId} has no BILLING_CATALOG`);
  const catalog = parseBillingCatalog(catalogLine.slice('BILLING_CATALOG='.length));
  const webhook = `http://${ports.functions.host}:${ports.functions.port}/${demoProjectId}/us-central1/stripeWebhook`;
  const local = await LocalStripe.start({ port: LOCAL_STRIPE_PORT, forward: { url: webhook, secret: localWebhookSecret } });
  for (const plan of Object.values(catalog.plans)) local.prices.add(plan.priceId);
  for (const promotionCode of Object.values(catalog.promotionCodes)) local.promotionCodes.add(promotionCode);
  if (catalog.portalConfigurationId) local.portalConfigurations.add(catalog.portalConfigurationId);
  // The seeded organizations' customers and subscriptions, so their portal and trigger --customer work.
  for (const org of demoOrgs) {
    const { customerId, subscriptionId, priceId, seats, status } = org.subscription;
    local.prices.add(priceId);
    local.addCustomer({ id: customerId, email: `billing@${org.domain}`, metadata: { orgId: org.id } });
    local.addSubscription({ id: subscriptionId, customer: customerId, price: priceId, quantity: seats, status, metadata: { orgId: org.id } });
  }
  return local;
}

function waitForExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
}

/**
 * Resolves when the CLI prints that its emulators are ready (after Functions have loaded), rejects if it exits.
 * Its own banner and table are not echoed (ours is the one ready table); a failure shows what it printed.
 */
function waitUntilReady(cli: ChildProcess): Promise<void> {
  const { stdout } = cli;
  if (!stdout) throw new Error('the Firebase CLI was started without a stdout pipe');
  return new Promise((resolve, reject) => {
    let output = '';
    let ready = false;
    stdout.on('data', (chunk: Buffer) => {
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

function printReadyTable(ports: EmulatorPorts, googleFirestore: boolean, stripe: { url: string; note: string }): void {
  const url = (hp: HostPort, path = '') => `http://${hp.host}:${hp.port}${path}`;
  const rows: [string, string, string][] = [
    [
      'Firestore',
      url(ports.firestore),
      googleFirestore ? "Google's emulator, firebase.json rules" : 'offline emulator, firestore.rules (gRPC, REST, WebChannel)',
    ],
    [
      'Data viewer',
      googleFirestore ? '-' : url(ports.firestore, '/'),
      googleFirestore ? "Google's emulator has none here (its Emulator UI is a download)" : 'collections, documents, rules decisions, clear data',
    ],
    ['Auth', url(ports.auth), `FIREBASE_AUTH_EMULATOR_HOST=${ports.auth.host}:${ports.auth.port}`],
    ['Functions', url(ports.functions, `/${demoProjectId}/us-central1/<name>`), 'callables and HTTP functions'],
    ['Stripe', stripe.url, stripe.note],
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
  // parseArgs refuses any option but these.
  const { values: flags } = parseArgs({ options: { 'from-seed': { type: 'boolean' } } });
  if (flags['from-seed']) {
    rmSync(emulatorDataDir, { recursive: true, force: true });
    writeEmulatorData();
    console.log('emulator-data/: rewritten from the committed seed (scripts/seed.ts)');
  }
  const ports = emulatorPorts();
  await assertPortsFree([
    { name: 'Firestore emulator', ...ports.firestore },
    { name: 'Auth emulator', ...ports.auth },
    { name: 'Functions emulator', ...ports.functions },
    { name: 'emulator hub', ...ports.hub },
    { name: 'local Stripe', host: '127.0.0.1', port: LOCAL_STRIPE_PORT },
  ]);
  const google = googleFirestoreAvailable();
  console.log(google.ok ? "Firestore: Google's emulator" : `Firestore: the offline emulator (Google's is unavailable: ${google.why})`);

  buildFunctions();
  const secrets = ensureLocalStripeSecrets();
  const stripe = await startLocalStripe(ports);
  const stripeSummary = {
    url: stripe.url,
    note:
      secrets === 'local'
        ? 'local Stripe; events go to stripeWebhook; npm run stripe:trigger -- <event>'
        : 'functions/.secret.local is yours: the functions use your keys and STRIPE_API_URL',
  };

  let ours: RunningEmulator | undefined;
  if (!google.ok) {
    ours = await startEmulator({
      ...ports.firestore,
      rulesFile: join(root, 'firestore.rules'),
      indexesFile: join(root, 'firestore.indexes.json'),
      importDirectory: emulatorDataDir,
    });
    console.log(`Firestore: imported ${ours.importedDocuments} documents from emulator-data/`);
  }
  const firestoreHost = `${ports.firestore.host}:${ports.firestore.port}`;

  const only = google.ok ? 'auth,functions,firestore' : 'auth,functions';
  const cli = spawn(
    process.execPath,
    [
      require.resolve('firebase-tools/lib/bin/firebase.js'),
      'emulators:start',
      '--only',
      only,
      '--project',
      demoProjectId,
      '--import',
      emulatorDataDir,
      '--export-on-exit',
      emulatorDataDir,
    ],
    {
      cwd: root,
      // Functions reach our Firestore through this variable (the CLI sets it itself for its own emulator).
      env: google.ok ? process.env : { ...process.env, FIRESTORE_EMULATOR_HOST: firestoreHost },
      stdio: ['ignore', 'pipe', 'inherit'],
      // Its own process group: Ctrl-C reaches only us, and we forward one SIGINT (two would skip its clean shutdown).
      detached: true,
    },
  );

  let stopping = false;
  const stop = async (exitCode: number) => {
    let code = exitCode;
    if (stopping) return;
    stopping = true;
    console.log('\nStopping the emulators...');
    if (cli.exitCode === null) cli.kill('SIGINT');
    // The CLI writes its export first (replacing the whole directory); ours adds Firestore to it.
    await waitForExit(cli);
    if (ours) {
      try {
        ours.exportTo(emulatorDataDir, demoProjectId);
        console.log('Firestore: exported to emulator-data/');
      } catch (error) {
        console.error('Firestore: the export to emulator-data/ failed:', error);
        code = code || 1;
      }
      await ours.stop();
    }
    await stripe.stop();
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
    printReadyTable(ports, google.ok, stripeSummary);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    await stop(1);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof PortBusyError ? error.message : error);
  process.exit(1);
});
