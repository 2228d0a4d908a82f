/**
 * The backfill step of an expand-then-contract schema change (docs/operations.md, "Schema evolution"): brings
 * every stored document of one kind to its current shape version, a page at a time, and reports what it did.
 * Documents already at that version or newer are left alone, so it can run again and again; `--dry-run` counts
 * without writing.
 *
 *   npx tsx scripts/backfill-schema-version.ts <kind> --project <project-id> [--dry-run]
 *
 * Credentials: Application Default Credentials with the Cloud Datastore User role (or FIRESTORE_EMULATOR_HOST).
 */
import { initializeApp } from 'firebase-admin/app';
import { FieldPath, getFirestore, type DocumentData, type Firestore, type Query, type QueryDocumentSnapshot } from 'firebase-admin/firestore';
import {
  AUDIT_ENTRY_VERSION,
  BILLING_RECORD_VERSION,
  DELETION_RECEIPT_VERSION,
  DELETION_REQUEST_VERSION,
  INVITE_VERSION,
  MEMBER_VERSION,
  ORGANIZATION_VERSION,
  orgIdOf,
  paths,
  randomUsageEventShard,
  RATE_LIMIT_COUNTER_VERSION,
  serverCollections,
  storedSchemaVersionSchema,
  STRIPE_CUSTOMER_LINK_VERSION,
  STRIPE_EVENT_RECORD_VERSION,
  SUBSCRIPTION_MIRROR_VERSION,
  USAGE_EVENT_RECORD_VERSION,
  type OrgCollection,
} from '@leadpulse/model';

interface Backfill {
  /** The documents of the kind (a collection, or a collection group filtered by `includes`). */
  query: (db: Firestore) => Query;
  includes: (path: string) => boolean;
  version: number;
  /** The fields to set on a document below `version` (besides the version): what the contract step will require. */
  upgrade: (data: DocumentData) => DocumentData;
}

/** Whether `path` is a document directly in `collection` of an organization (a collection group has others too). */
const inOrgCollection = (collection: OrgCollection) => (path: string) => {
  const orgId = orgIdOf(path);
  return orgId !== null && path.startsWith(`${paths.orgCollection(orgId, collection)}/`) && path.split('/').length === 4;
};

/** One entry per versioned kind; a schema change adds its upgrade here (version 2 introduced the field itself). */
export const backfills = {
  stripeEvents: {
    query: (db) => db.collection(serverCollections.stripeEvents),
    includes: () => true,
    version: STRIPE_EVENT_RECORD_VERSION,
    upgrade: () => ({}),
  },
  subscriptionMirrors: {
    query: (db) => db.collectionGroup('billing'),
    includes: (path) => {
      const orgId = orgIdOf(path);
      return orgId !== null && path === paths.subscription(orgId);
    },
    version: SUBSCRIPTION_MIRROR_VERSION,
    upgrade: () => ({}),
  },
  billingRecords: {
    query: (db) => db.collection(serverCollections.billingRecords),
    includes: () => true,
    version: BILLING_RECORD_VERSION,
    upgrade: () => ({}),
  },
  stripeCustomers: {
    query: (db) => db.collection(serverCollections.stripeCustomers),
    includes: () => true,
    version: STRIPE_CUSTOMER_LINK_VERSION,
    upgrade: () => ({}),
  },
  deletionReceipts: {
    query: (db) => db.collection(serverCollections.deletionReceipts),
    includes: () => true,
    version: DELETION_RECEIPT_VERSION,
    upgrade: () => ({}),
  },
  deletionRequests: {
    query: (db) => db.collection(serverCollections.deletionRequests),
    includes: () => true,
    version: DELETION_REQUEST_VERSION,
    upgrade: () => ({}),
  },
  usageEvents: {
    query: (db) => db.collection(serverCollections.usageEvents),
    includes: () => true,
    version: USAGE_EVENT_RECORD_VERSION,
    // Version 3: the shard retention reads events by (an event without one is in no index the job queries).
    upgrade: () => ({ shard: randomUsageEventShard() }),
  },
  rateLimits: {
    query: (db) => db.collection(serverCollections.rateLimits),
    includes: () => true,
    version: RATE_LIMIT_COUNTER_VERSION,
    upgrade: () => ({}),
  },
  organizations: {
    query: (db) => db.collection(paths.orgs()),
    includes: () => true,
    version: ORGANIZATION_VERSION,
    upgrade: () => ({}),
  },
  members: {
    query: (db) => db.collectionGroup('members' satisfies OrgCollection),
    includes: inOrgCollection('members'),
    version: MEMBER_VERSION,
    upgrade: () => ({}),
  },
  invites: {
    query: (db) => db.collectionGroup('invites' satisfies OrgCollection),
    includes: inOrgCollection('invites'),
    version: INVITE_VERSION,
    upgrade: () => ({}),
  },
  auditEntries: {
    query: (db) => db.collectionGroup('auditLog' satisfies OrgCollection),
    includes: inOrgCollection('auditLog'),
    version: AUDIT_ENTRY_VERSION,
    upgrade: () => ({}),
  },
} satisfies Record<string, Backfill>;
export type BackfillKind = keyof typeof backfills;

export interface BackfillReport {
  kind: BackfillKind;
  version: number;
  scanned: number;
  /** Upgraded (or, in a dry run, to upgrade). */
  upgraded: number;
  /** Already at a newer version (written by a newer release): left alone. */
  newer: number;
  /** Changed by someone else between the read and the write: left for the next run. */
  changedMeanwhile: number;
}

export interface BackfillOptions {
  dryRun?: boolean;
  pageSize?: number;
  /** Called with each page once it is read, before its upgrades are written (tests change a document there). */
  afterRead?: (docs: readonly QueryDocumentSnapshot[]) => Promise<void>;
}

export async function backfillSchemaVersion(db: Firestore, kind: BackfillKind, options: BackfillOptions = {}): Promise<BackfillReport> {
  const backfill: Backfill = backfills[kind];
  const pageSize = options.pageSize ?? 500;
  const report: BackfillReport = { kind, version: backfill.version, scanned: 0, upgraded: 0, newer: 0, changedMeanwhile: 0 };
  const query = backfill.query(db).orderBy(FieldPath.documentId()).limit(pageSize);
  const writer = db.bulkWriter();
  try {
    let last: QueryDocumentSnapshot | undefined;
    for (;;) {
      const page = await (last ? query.startAfter(last) : query).get();
      await options.afterRead?.(page.docs);
      const writes: Promise<void>[] = [];
      for (const doc of page.docs) {
        if (!backfill.includes(doc.ref.path)) continue;
        report.scanned += 1;
        const version = storedSchemaVersionSchema.parse(doc.get('schemaVersion')) ?? 1;
        if (version > backfill.version) report.newer += 1;
        if (version >= backfill.version) continue;
        report.upgraded += 1;
        if (options.dryRun) continue;
        // Only if the document is as read: a concurrent writer's change is never overwritten with stale values.
        const update = { ...backfill.upgrade(doc.data()), schemaVersion: backfill.version };
        writes.push(
          writer.update(doc.ref, update, { lastUpdateTime: doc.updateTime }).then(
            () => undefined,
            () => {
              report.upgraded -= 1;
              report.changedMeanwhile += 1;
            },
          ),
        );
      }
      await writer.flush();
      await Promise.all(writes);
      if (page.size < pageSize) return report;
      last = page.docs[page.docs.length - 1];
    }
  } finally {
    await writer.close();
  }
}

function usage(): never {
  console.error(`usage: npx tsx scripts/backfill-schema-version.ts <${Object.keys(backfills).join('|')}> --project <project-id> [--dry-run]`);
  process.exit(2);
}

async function main(args: string[]): Promise<void> {
  const projectFlag = args.indexOf('--project');
  const projectId = projectFlag >= 0 ? args[projectFlag + 1] : process.env.GOOGLE_CLOUD_PROJECT;
  const positional = args.filter((arg, i) => !arg.startsWith('--') && (projectFlag < 0 || i !== projectFlag + 1));
  const [kind] = positional;
  if (positional.length !== 1 || !projectId || !(kind in backfills)) usage();
  const db = getFirestore(initializeApp({ projectId }));
  console.log(JSON.stringify(await backfillSchemaVersion(db, kind as BackfillKind, { dryRun: args.includes('--dry-run') })));
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
