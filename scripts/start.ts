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
 * - Stripe: the local Stripe (packages/stripe-local) on port 12111, forwarding signed events to the local
 *   stripeWebhook; the functions reach it through STRIPE_API_URL (functions/.env.demo-leadpulse) with the
 *   secrets this script writes to functions/.secret.local (unless you keep your own there).
 *
 * Ctrl-C stops everything.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type RunningEmulator } from '@leadpulse/firestore-emulator';
import { LOCAL_STRIPE_PORT, LOCAL_STRIPE_SECRET_KEY, LocalStripe } from '@leadpulse/stripe-local';
import { parseBillingCatalog } from '../functions/src/billing/catalog';
import { demoOrgs, demoPassword, demoProjectId, demoUsers } from './seed-data';
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

/** Resolves when the CLI prints that its emulators are ready (after Functions have loaded), rejects if it exits. */
function waitUntilReady(cli: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    cli.stdout!.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      seen += chunk.toString('utf8');
      if (seen.includes('All emulators ready')) resolve();
      seen = seen.slice(-100);
    });
    cli.once('exit', (code) => reject(new Error(`the Firebase CLI exited (code ${code}) before its emulators were ready`)));
  });
}

function printSummary(ports: EmulatorPorts, firestore: string, stripe: string): void {
  const at = (hp: HostPort) => `${hp.host}:${hp.port}`;
  const lines = [
    '',
    'LeadPulse local backend is running (Ctrl-C to stop)',
    `  Firestore  ${at(ports.firestore)}  ${firestore}`,
    `  Auth       ${at(ports.auth)}`,
    `  Functions  ${at(ports.functions)}  (http://${at(ports.functions)}/${demoProjectId}/us-central1/<name>)`,
    `  Stripe     ${stripe}`,
    `  Project    ${demoProjectId}`,
    '',
    `Demo sign-ins (password for all: ${demoPassword}):`,
    ...demoUsers.map((u) => `  ${u.email.padEnd(28)} ${u.role.padEnd(7)} of ${u.orgId.padEnd(7)} ${u.displayName}`),
    '',
  ];
  console.log(lines.join('\n'));
}

async function main(): Promise<void> {
  // firebase-admin (seeding) would otherwise probe for a Google Cloud metadata server.
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const ports = emulatorPorts();
  const google = googleFirestoreAvailable();
  console.log(google.ok ? "Firestore: Google's emulator" : `Firestore: the offline emulator (Google's is unavailable: ${google.why})`);

  buildFunctions();
  const secrets = ensureLocalStripeSecrets();
  const stripe = await startLocalStripe(ports);
  const stripeSummary =
    secrets === 'local'
      ? `${stripe.url}  (local; events to stripeWebhook; npm run stripe:trigger -- <event>)`
      : `${stripe.url}  (functions/.secret.local is yours: the functions use your keys and STRIPE_API_URL)`;

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
    const count = await seedFirestore(firestoreHost);
    console.log(`Seeded ${count} Firestore documents.`);
    printSummary(ports, google.ok ? "(Google's emulator, firebase.json rules)" : '(offline emulator, firestore.rules)', stripeSummary);
  } catch (error) {
    console.error(error);
    await stop(1);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
