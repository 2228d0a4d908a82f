/**
 * The restore runbook's steps (docs/operations.md, "Backups and restore"), after `gcloud firestore databases
 * restore` has created a database `restored-…` in the same project. In this order:
 *
 *   npx tsx scripts/restore.ts copy --project P --from restored-YYYYMMDD --restore-point ISO --path orgs/acme [--path users …] [--dry-run] [--overwrite-changed] [--start-after PATH]
 *   npx tsx scripts/restore.ts reapply-deletions --project P --restore-point ISO [--purged-org ORG_ID …] [--dry-run]
 *   npx tsx scripts/restore.ts resync-billing --project P --operator UID
 *
 * Each prints its report as JSON on stdout (progress on stderr). `reapply-deletions` and `resync-billing` call
 * Stripe: STRIPE_SECRET_KEY (and BILLING_CATALOG, as in functions/.env.<alias>) must be set in the environment, and
 * ORG_DELETION_GRACE_DAYS when the deployment sets it.
 * Credentials: Application Default Credentials with Cloud Datastore User and Firebase Authentication Admin (or
 * FIRESTORE_EMULATOR_HOST and FIREBASE_AUTH_EMULATOR_HOST locally).
 */
import { parseArgs } from 'node:util';
import Stripe from 'stripe';
import { z } from 'zod';
import { initializeApp } from 'firebase-admin/app';
import { getAuth } from 'firebase-admin/auth';
import { getFirestore } from 'firebase-admin/firestore';
import { docIdSchema, uidSchema } from '@leadpulse/model';
import { adminAccountAuth } from '../functions/src/accounts/account-auth';
import type { BillingDeps } from '../functions/src/billing/apply-change';
import { parseBillingCatalog } from '../functions/src/billing/catalog';
import { cancelOrgSubscriptions } from '../functions/src/billing/cancel-subscription';
import { closeOrgBilling } from '../functions/src/billing/close-billing';
import { resyncAllStripeCustomers } from '../functions/src/billing/operators';
import { STRIPE_API_VERSION, stripeHostOf } from '../functions/src/billing/runtime';
import { systemClock } from '../functions/src/common/clock';
import { DEFAULT_ORG_DELETION_GRACE_DAYS, graceDaysSchema } from '../functions/src/privacy/config';
import { adminUserDirectory, copyBack, reapplyDeletions, RestoreGuard } from '../functions/src/operations';

const usage = `usage:
  npx tsx scripts/restore.ts copy --project P --from DATABASE --restore-point ISO --path PATH [--path PATH …] [--dry-run] [--overwrite-changed] [--start-after PATH]
  npx tsx scripts/restore.ts reapply-deletions --project P --restore-point ISO [--purged-org ORG_ID …] [--dry-run]
  npx tsx scripts/restore.ts resync-billing --project P --operator UID`;

const restorePointSchema = z.iso
  .datetime({ offset: true, error: 'must be an ISO 8601 time such as 2026-11-29T10:00:00Z' })
  .transform((iso) => new Date(iso))
  .refine((time) => time.getTime() <= Date.now(), 'must not be in the future');
const common = { project: z.string().min(1, 'name the project') };
const commands = {
  copy: z.strictObject({
    ...common,
    from: z
      .string()
      .regex(/^[a-z][a-z0-9-]{2,62}$/, 'must be the restored database id')
      .refine((id) => id !== '(default)', 'must be the restored database, not (default)'),
    'restore-point': restorePointSchema,
    path: z.array(z.string()).min(1, 'name at least one --path'),
    'dry-run': z.boolean().default(false),
    'overwrite-changed': z.boolean().default(false),
    'start-after': z.string().min(1).optional(),
  }),
  'reapply-deletions': z.strictObject({
    ...common,
    'restore-point': restorePointSchema,
    'purged-org': z.array(docIdSchema).default([]),
    'dry-run': z.boolean().default(false),
  }),
  'resync-billing': z.strictObject({ ...common, operator: uidSchema }),
};
type Command = keyof typeof commands;

/** Stripe, the catalog and the grace period from the environment, as the functions get them from secrets and params. */
function fromEnvironment(): Pick<BillingDeps, 'stripe' | 'catalog'> & { graceDays: number } {
  const parsed = z
    .object({
      STRIPE_SECRET_KEY: z.string({ error: 'must be set (the secret, from Secret Manager)' }).min(1),
      BILLING_CATALOG: z.string({ error: 'must be set (as in functions/.env.<alias>)' }).min(1),
      STRIPE_API_URL: z.string().default('https://api.stripe.com'),
      // An account erasure that leaves an organization without its sole owner schedules that organization's
      // deletion with the deployed grace period (empty, as the runbook's export leaves it when unset: the default).
      ORG_DELETION_GRACE_DAYS: z.preprocess(
        (value) => (value === '' ? undefined : value),
        z.coerce.number().pipe(graceDaysSchema).default(DEFAULT_ORG_DELETION_GRACE_DAYS),
      ),
    })
    .safeParse(process.env);
  if (!parsed.success) fail(`${parsed.error.issues[0].path.join('.')} ${parsed.error.issues[0].message}`);
  const environment = parsed.data;
  return {
    stripe: new Stripe(environment.STRIPE_SECRET_KEY, { apiVersion: STRIPE_API_VERSION, maxNetworkRetries: 2, ...stripeHostOf(environment.STRIPE_API_URL) }),
    catalog: parseBillingCatalog(environment.BILLING_CATALOG),
    graceDays: environment.ORG_DELETION_GRACE_DAYS,
  };
}

function fail(message: string): never {
  console.error(`${message}\n${usage}`);
  process.exit(2);
}

async function main(argv: string[]): Promise<unknown> {
  const [command, ...rest] = argv;
  if (!(command in commands)) fail(`unknown command ${JSON.stringify(command ?? '')}`);
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      project: { type: 'string' },
      from: { type: 'string' },
      'restore-point': { type: 'string' },
      path: { type: 'string', multiple: true },
      'purged-org': { type: 'string', multiple: true },
      operator: { type: 'string' },
      'start-after': { type: 'string' },
      'dry-run': { type: 'boolean' },
      'overwrite-changed': { type: 'boolean' },
    },
  });
  const parsed = commands[command as Command].safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    fail(`--${issue.code === 'unrecognized_keys' ? issue.keys[0] : issue.path.join('.')}: ${issue.message}`);
  }
  const app = initializeApp({ projectId: parsed.data.project });
  const db = getFirestore(app);
  const users = adminUserDirectory(getAuth(app));
  const args = parsed.data;
  if ('from' in args) {
    const guard = new RestoreGuard(db, users, args['restore-point']);
    return copyBack(
      { source: getFirestore(app, args.from), target: db, guard, onPage: (report) => console.error(`copied up to ${report.cursor ?? ''}`) },
      {
        prefixes: args.path,
        overwriteChanged: args['overwrite-changed'],
        dryRun: args['dry-run'],
        startAfter: args['start-after'] ?? null,
      },
    );
  }
  const { graceDays, ...stripeAndCatalog } = fromEnvironment();
  const billing = { db, clock: systemClock, ...stripeAndCatalog };
  if ('operator' in args) return resyncAllStripeCustomers(billing, args.operator);
  return reapplyDeletions(
    {
      db,
      users,
      purge: { db, clock: systemClock, closeBilling: (orgId) => closeOrgBilling(billing, orgId) },
      accounts: {
        db,
        clock: systemClock,
        auth: adminAccountAuth(getAuth(app)),
        orgDeletion: { graceDays, cancelSubscription: (orgId) => cancelOrgSubscriptions(billing, orgId) },
      },
    },
    { restorePoint: args['restore-point'], purgedOrgIds: args['purged-org'], dryRun: args['dry-run'] },
  );
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (report) => console.log(JSON.stringify(report, null, 2)),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
