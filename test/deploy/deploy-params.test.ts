/**
 * `npm run deploy`'s checks before anything reaches a project: the alias, and the params as `firebase deploy`
 * reads them (firebase-tools' own dotenv loader) against what the functions accept.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BACKUP_RETENTION_DAYS,
  MAX_GRACE_DAYS_WITH_BACKUPS,
  declaredParams,
  deployCommands,
  loadParams,
  paramProblems,
  projectOfAlias,
} from '../../scripts/deploy';
import { projectRoot } from '../../scripts/deploy-rehearsal';

const realCatalog = JSON.stringify({ plans: { team: { priceId: 'price_1QxLmN2eZvKYlo2C', minSeats: 1, maxSeats: 50, trialDays: 14 } } });
const ready = { FUNCTIONS_REGION: 'europe-west1', BILLING_APP_URL: 'https://app.leadpulse.io', BILLING_CATALOG: realCatalog };
const params = declaredParams();

const folders: string[] = [];
afterEach(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The committed params file of an alias, with its placeholders replaced by real-looking values. */
function committedParamsFilledIn(alias: string): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'leadpulse-params-'));
  folders.push(dir);
  const committed = readFileSync(join(projectRoot, 'functions', `.env.${alias}`), 'utf8');
  writeFileSync(join(dir, `.env.${alias}`), committed.replace(/price_ReplaceWith\w+/g, 'price_1QxLmN2eZvKYlo2C').replace(/\.example\b/g, '.io'));
  return loadParams(dir, `leadpulse-${alias}`, alias);
}

describe('the alias', () => {
  const rc = JSON.parse(readFileSync(join(projectRoot, '.firebaserc'), 'utf8')) as unknown;

  it('names the project of .firebaserc', () => {
    expect(projectOfAlias('production', rc)).toBe('leadpulse-prod');
    expect(projectOfAlias('staging', rc)).toBe('leadpulse-staging');
  });

  it('refuses an unknown alias and the demo project, naming them', () => {
    expect(() => projectOfAlias('prod', rc)).toThrow('.firebaserc names no project for alias "prod" (it has: default, staging, production)');
    expect(() => projectOfAlias('default', rc)).toThrow('demo-leadpulse, a demo project');
    expect(() => projectOfAlias('constructor', rc)).toThrow('names no project for alias "constructor"');
  });
});

describe('the params', () => {
  it.each(['production', 'staging'])('the committed %s file is refused for its placeholders only, naming each', (alias) => {
    const committed = loadParams(join(projectRoot, 'functions'), `leadpulse-${alias}`, alias);
    expect(paramProblems(committed, params)).toEqual([
      'BILLING_APP_URL: still a placeholder (.example): put the real value in',
      'BILLING_CATALOG: still a placeholder (ReplaceWith): put the real value in',
    ]);
    expect(paramProblems(committedParamsFilledIn(alias), params)).toEqual([]);
  });

  it('accepts a complete set, and defaults for the params that have one', () => {
    expect(paramProblems(ready, params)).toEqual([]);
    expect(paramProblems({ ...ready, ORG_DELETION_GRACE_DAYS: String(MAX_GRACE_DAYS_WITH_BACKUPS), ENFORCE_APP_CHECK: 'true' }, params)).toEqual([]);
  });

  it.each([
    ['a required param missing', { BILLING_APP_URL: undefined }, 'BILLING_APP_URL: no value, and the param has no default'],
    ['a catalog the functions would refuse', { BILLING_CATALOG: '{"plans":{}}' }, 'BILLING_CATALOG is invalid at plans: must name at least one plan'],
    ['a catalog that is not JSON', { BILLING_CATALOG: '{plans' }, 'BILLING_CATALOG must be JSON'],
    ['an app URL with a path', { BILLING_APP_URL: 'https://app.leadpulse.io/home' }, 'BILLING_APP_URL: must be the https origin of the web app (no path)'],
    ['the local Stripe', { STRIPE_API_URL: 'http://127.0.0.1:12111' }, "STRIPE_API_URL: a deployed backend talks to Stripe's own API"],
    ['App Check switched off', { ENFORCE_APP_CHECK: 'false' }, 'ENFORCE_APP_CHECK: false is for the local backend only'],
    ['a non-integer', { INVITE_TTL_DAYS: '7.5' }, 'INVITE_TTL_DAYS: must be an integer, got "7.5"'],
    ['a negative grace period', { ORG_DELETION_GRACE_DAYS: '-1' }, 'ORG_DELETION_GRACE_DAYS must be an integer from 0 to 29, got -1'],
    [
      'a grace period the backups would outlive',
      { ORG_DELETION_GRACE_DAYS: String(MAX_GRACE_DAYS_WITH_BACKUPS + 1) },
      `ORG_DELETION_GRACE_DAYS: at most ${MAX_GRACE_DAYS_WITH_BACKUPS} while backups are kept ${BACKUP_RETENTION_DAYS} days`,
    ],
  ])('refuses %s, naming the param', (_case, change, problem) => {
    const values = Object.fromEntries(Object.entries({ ...ready, ...change }).filter((entry): entry is [string, string] => entry[1] !== undefined));
    const problems = paramProblems(values, params);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(problem);
  });

  it("keeps docs/operations.md's backup schedule at the retention the grace check assumes", () => {
    const operations = readFileSync(join(projectRoot, 'docs', 'operations.md'), 'utf8');
    expect(operations).toContain(`backups schedules create --database='(default)' --recurrence=daily --retention=${BACKUP_RETENTION_DAYS}d`);
  });
});

describe('the commands', () => {
  it('looks up every secret, deploys indexes, waits for their builds, then rules, then functions, all non-interactive for the alias', () => {
    const secrets = params.filter((param) => param.type === 'secret').map((param) => param.name);
    expect(secrets).toEqual(['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET', 'STRIPE_WEBHOOK_SECRET_PREVIOUS', 'UNSUBSCRIBE_SIGNING_KEY']);
    expect(deployCommands('staging', secrets).map((command) => command?.join(' ') ?? 'wait for index builds')).toEqual([
      ...secrets.map((name) => `npx firebase functions:secrets:get ${name} -P staging --non-interactive`),
      'npx firebase deploy --only firestore:indexes -P staging --non-interactive',
      'wait for index builds',
      'npx firebase deploy --only firestore:rules -P staging --non-interactive',
      'npx firebase deploy --only functions -P staging --non-interactive --force',
    ]);
  });
});
