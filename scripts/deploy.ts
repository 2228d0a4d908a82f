/**
 * `npm run deploy -- <alias> [--dry-run]`: the deploy of docs/operations.md ("Deploying from CI"), in its order,
 * after checking the alias's params file the way the functions will read it. A deploy that would start with a
 * placeholder price, an example domain, the local Stripe or a grace period the backups would outlive stops here,
 * naming the param, before anything reaches the project.
 *
 * Order: every declared secret looked up, indexes (and field overrides, TTL policies), a wait until no index is
 * still building (a function whose query's index is building fails), rules, then functions (`--force`: a non-interactive deploy may delete functions
 * removed from the code). `--dry-run` checks and prints the commands without running them.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { ownEntry, parseBillingCatalog } from '../functions/src/billing/catalog';
import { describeError } from '../functions/src/common/logging';
import { checkGraceDays, DELETION_DEADLINE_DAYS } from '../functions/src/privacy/config';
import { projectRoot, readDeployManifest, type DeployBuild } from './deploy-rehearsal';

/** Days the daily backups are kept (`gcloud firestore backups schedules create --retention`, docs/operations.md). */
export const BACKUP_RETENTION_DAYS = 14;
/** A deleted organization is purged by the first retention run after its grace period: at most a day later. */
const PURGE_DELAY_DAYS = 1;
/** The longest grace period with which the last backup holding a purged organization expires within P5's deadline. */
export const MAX_GRACE_DAYS_WITH_BACKUPS = DELETION_DEADLINE_DAYS - BACKUP_RETENTION_DAYS - PURGE_DELAY_DAYS;

const INDEX_POLL_MS = 30_000;

const firebaserc = z.looseObject({ projects: z.record(z.string(), z.string()) });
type DeclaredParam = NonNullable<DeployBuild['params']>[number];
const INTEGER = /^-?\d+$/;

/** Values written to the committed params files until someone fills in the real ones. */
const PLACEHOLDER = /ReplaceWith|\.example(?=[/:]|$)/;

/** The project an alias of .firebaserc names; demo projects (the emulator's) cannot be deployed to. */
export function projectOfAlias(alias: string, rc: unknown): string {
  const projects = firebaserc.parse(rc).projects;
  const projectId = ownEntry(projects, alias);
  if (!projectId) throw new Error(`.firebaserc names no project for alias "${alias}" (it has: ${Object.keys(projects).join(', ')})`);
  if (projectId.startsWith('demo-')) throw new Error(`alias "${alias}" is ${projectId}, a demo project: it exists only in the emulators`);
  return projectId;
}

/**
 * What is wrong with the params a deploy would use (empty when nothing is): every param without a default has a
 * value, and the values the functions parse are the ones they accept, with none left a placeholder.
 */
export function paramProblems(values: Record<string, string>, params: readonly DeclaredParam[]): string[] {
  const problems: string[] = [];
  const valueOf = (name: string) => ownEntry(values, name);
  /** Runs one of the functions' own checks, keeping what it throws as a problem. */
  const check = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      problems.push(describeError(error));
    }
  };
  for (const param of params) {
    if (param.type === 'secret') continue;
    const value = valueOf(param.name);
    if (value === undefined) {
      if (param.default === undefined) problems.push(`${param.name}: no value, and the param has no default`);
      continue;
    }
    if (PLACEHOLDER.test(value)) problems.push(`${param.name}: still a placeholder (${value.match(PLACEHOLDER)?.[0]}): put the real value in`);
    else if (param.type === 'int' && !INTEGER.test(value)) problems.push(`${param.name}: must be an integer, got ${JSON.stringify(value)}`);
    else if (param.type === 'boolean' && value !== 'true' && value !== 'false') problems.push(`${param.name}: must be true or false`);
  }
  const catalog = valueOf('BILLING_CATALOG');
  if (catalog !== undefined && !PLACEHOLDER.test(catalog)) check(() => parseBillingCatalog(catalog));
  const appUrl = valueOf('BILLING_APP_URL');
  if (appUrl !== undefined && !PLACEHOLDER.test(appUrl) && !/^https:\/\/[^/?#]+$/.test(appUrl)) {
    problems.push('BILLING_APP_URL: must be the https origin of the web app (no path)');
  }
  const stripeUrl = valueOf('STRIPE_API_URL');
  if (stripeUrl !== undefined && stripeUrl !== 'https://api.stripe.com')
    problems.push("STRIPE_API_URL: a deployed backend talks to Stripe's own API, https://api.stripe.com");
  if (valueOf('ENFORCE_APP_CHECK') === 'false') problems.push('ENFORCE_APP_CHECK: false is for the local backend only');
  const graceDays = valueOf('ORG_DELETION_GRACE_DAYS');
  if (graceDays !== undefined && INTEGER.test(graceDays)) check(() => checkGraceDays(Number(graceDays)));
  if (graceDays !== undefined && Number(graceDays) > MAX_GRACE_DAYS_WITH_BACKUPS) {
    problems.push(
      `ORG_DELETION_GRACE_DAYS: at most ${MAX_GRACE_DAYS_WITH_BACKUPS} while backups are kept ${BACKUP_RETENTION_DAYS} days ` +
        `(a purged organization must leave the last backup within ${DELETION_DEADLINE_DAYS} days of the request)`,
    );
  }
  return problems;
}

/**
 * The commands of a deploy through `alias`, in order; `null` stands for the wait for index builds. Each secret is
 * looked up first (metadata only, never the value): the functions deploy fails on a missing one, and by then the
 * indexes and rules would already be out.
 */
export function deployCommands(alias: string, secretNames: readonly string[]): (string[] | null)[] {
  const firebase = (...args: string[]) => ['npx', 'firebase', ...args, '-P', alias, '--non-interactive'];
  return [
    ...secretNames.map((name) => firebase('functions:secrets:get', name)),
    firebase('deploy', '--only', 'firestore:indexes'),
    null,
    firebase('deploy', '--only', 'firestore:rules'),
    [...firebase('deploy', '--only', 'functions'), '--force'],
  ];
}

// firebase-tools ships no types; this is lib/functions/env.js loadUserEnvs, which `firebase deploy` uses to read
// functions/.env, .env.<projectId> and .env.<alias> (refusing both of the last two).
type LoadUserEnvs = (options: {
  functionsSource: string;
  projectId: string;
  projectAlias: string;
  projectDir: string;
  isEmulator: false;
}) => Record<string, string>;

/** The params `firebase deploy -P <alias>` reads from the functions folder's dotenv files. */
export function loadParams(functionsDir: string, projectId: string, alias: string): Record<string, string> {
  const { loadUserEnvs } = createRequire(__filename)('firebase-tools/lib/functions/env.js') as { loadUserEnvs: LoadUserEnvs };
  return loadUserEnvs({ functionsSource: functionsDir, projectId, projectAlias: alias, projectDir: projectRoot, isEmulator: false });
}

/** The params the deploy manifest declares (deploy/functions-manifest.json, checked by the rehearsal). */
export function declaredParams(): DeclaredParam[] {
  return readDeployManifest().params ?? [];
}

function run(command: string[]): void {
  console.log(`$ ${command.join(' ')}`);
  const result = spawnSync(command[0], command.slice(1), { cwd: projectRoot, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${command.join(' ')} failed (exit ${result.status ?? result.signal ?? '?'})`);
}

async function waitForIndexBuilds(projectId: string): Promise<void> {
  for (;;) {
    const listing = spawnSync('gcloud', ['firestore', 'indexes', 'composite', 'list', '--project', projectId, '--format', 'value(state)'], {
      encoding: 'utf8',
    });
    if (listing.status !== 0) throw new Error(`gcloud firestore indexes composite list failed: ${listing.stderr}`);
    if (!listing.stdout.split('\n').includes('CREATING')) return;
    console.log('index builds still running; checking again in 30 s');
    await delay(INDEX_POLL_MS);
  }
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { 'dry-run': { type: 'boolean', default: false } } });
  if (positionals.length !== 1) throw new Error('usage: npm run deploy -- <alias> [--dry-run]   (aliases: .firebaserc)');
  const alias = positionals[0];
  const projectId = projectOfAlias(alias, JSON.parse(readFileSync(join(projectRoot, '.firebaserc'), 'utf8')));
  const params = declaredParams();
  const problems = paramProblems(loadParams(join(projectRoot, 'functions'), projectId, alias), params);
  if (problems.length > 0) throw new Error(`the params of ${alias} (${projectId}) are not ready to deploy:\n  ${problems.join('\n  ')}`);
  console.log(`params of ${alias} (${projectId}): ready`);
  const secretNames = params.filter((param) => param.type === 'secret').map((param) => param.name);
  for (const command of deployCommands(alias, secretNames)) {
    if (values['dry-run']) console.log(command ? `would run: ${command.join(' ')}` : 'would wait until no index is CREATING');
    else if (command) run(command);
    else await waitForIndexBuilds(projectId);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
