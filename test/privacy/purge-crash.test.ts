/**
 * P5, reliability: a purge crashed at every page — before the page's deletes, halfway through them, and after
 * them — then resumed by another run ends in exactly the state of an uninterrupted purge, receipt included.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Firestore } from 'firebase-admin/firestore';
import { paths } from '@leadpulse/model';
import { requestOrganizationDeletion } from '../../functions/src/privacy/org-deletion';
import { DEFAULT_PURGE_LEASE_MS, purgeOrganization, type PurgeDeps, type PurgePage } from '../../functions/src/privacy/org-purge';
import { dataOf, dumpProject, under } from '../support/snapshot';
import { DAY, START, caller, freshProject, manualClock, recordingCancellation, seedBillingRecord, seedOrg } from './support';

const PAGE_SIZE = 4;
const OWNER = 'owner-1';

class InjectedCrash extends Error {}

type CrashPoint = 'before deletes' | 'halfway through deletes' | 'after deletes';

const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
});

/** A project with org A due for purge and org B beside it, identical in every project. */
async function preparedProject(): Promise<{ db: Firestore; time: ReturnType<typeof manualClock>; deps: PurgeDeps }> {
  const { db, close } = freshProject('privacy-crash');
  closers.push(close);
  const time = manualClock();
  const stripe = recordingCancellation();
  const members = [
    { uid: OWNER, role: 'owner' as const },
    { uid: 'admin-1', role: 'admin' as const },
    { uid: 'member-1', role: 'member' as const },
  ];
  await seedOrg(db, {
    orgId: 'orgA',
    now: START,
    members,
    contacts: 6,
    messagesPerContact: 1,
    invites: 1,
    auditEntries: 2,
    config: true,
    subscription: true,
    strayNestedDocuments: 2,
  });
  await seedOrg(db, { orgId: 'orgB', now: START, members: [{ uid: 'owner-b', role: 'owner' }], contacts: 2, messagesPerContact: 1 });
  await seedBillingRecord(db, 'orgA', 'in_A1', START);
  await requestOrganizationDeletion({ db, clock: time.clock, graceDays: 7, cancelSubscription: stripe.cancel }, caller(OWNER), { orgId: 'orgA' });
  time.advance(7 * DAY);
  return { db, time, deps: { db, clock: time.clock, closeBilling: stripe.close, pageSize: PAGE_SIZE } };
}

/** Runs the purge the way the retention job would find it: a crashed run, then a new run once the lease expired. */
async function purgeWithCrash(page: number, point: CrashPoint): Promise<{ db: Firestore; crashedAtPage: boolean; remainingAfterCrash: number }> {
  const { db, time, deps } = await preparedProject();
  let crashedAtPage = false;
  const onPage = async (phase: 'counted' | 'deleted', event: PurgePage) => {
    if (event.page !== page) return;
    if (phase === 'counted' && point === 'halfway through deletes') {
      // What a crash in the middle of BulkWriter's batches leaves: some of the page deleted, some not.
      await Promise.all(event.refs.slice(0, Math.ceil(event.refs.length / 2)).map((ref) => ref.delete()));
    }
    if ((phase === 'counted' && point !== 'after deletes') || (phase === 'deleted' && point === 'after deletes')) {
      crashedAtPage = true;
      throw new InjectedCrash(`crash at page ${page}, ${point}`);
    }
  };
  await expect(purgeOrganization({ ...deps, onPage }, 'orgA', 'crashing-run')).rejects.toBeInstanceOf(InjectedCrash);
  const remainingAfterCrash = [...(await dumpProject(db)).keys()].filter(under(paths.org('orgA'))).length;

  time.advance(DEFAULT_PURGE_LEASE_MS);
  // Until the lease expires, another run leaves the purge alone; afterwards it takes over.
  const resumed = await purgeOrganization(deps, 'orgA', 'resuming-run');
  expect(resumed.status).toBe('purged');
  return { db, crashedAtPage, remainingAfterCrash };
}

describe('purge interrupted at every page, then resumed', () => {
  it('ends identical to an uninterrupted purge, whichever page and point it crashed at', async () => {
    const { db, time, deps } = await preparedProject();
    const before = await dumpProject(db);
    const totalUnderA = [...before.keys()].filter(under(paths.org('orgA'))).length;
    const pages: number[] = [];
    time.advance(DEFAULT_PURGE_LEASE_MS); // Same completion time as the resumed runs below.
    expect(
      (
        await purgeOrganization(
          {
            ...deps,
            onPage: (phase, page) => {
              if (phase === 'deleted') pages.push(page.page);
            },
          },
          'orgA',
        )
      ).status,
    ).toBe('purged');
    const expected = dataOf(await dumpProject(db));
    expect(Object.keys(expected).filter(under(paths.org('orgA')))).toEqual([]);
    expect(Object.keys(expected)).toContain(paths.deletionReceipt('organization-orgA'));
    expect(pages.length).toBeGreaterThan(6);

    for (const page of pages) {
      for (const point of ['before deletes', 'halfway through deletes', 'after deletes'] as const) {
        const run = await purgeWithCrash(page, point);
        expect(run.crashedAtPage, `page ${page}, ${point}`).toBe(true);
        // The crash really left a partly purged organization (except at the very first page, before deletes).
        if (page > 1 || point !== 'before deletes') expect(run.remainingAfterCrash).toBeLessThan(totalUnderA);
        expect(dataOf(await dumpProject(run.db)), `page ${page}, ${point}`).toEqual(expected);
      }
    }
  }, 240_000);

  it('a run that lost its lease stops at its next page and leaves the purge to the run that took over', async () => {
    const { db, time, deps } = await preparedProject();
    // Assigned in onPage: a cast keeps TypeScript from narrowing it to null here.
    let takeover = null as Promise<unknown> | null;
    const onPage = async (phase: 'counted' | 'deleted', event: PurgePage) => {
      if (phase !== 'deleted' || event.page !== 2 || takeover) return;
      // The first run stalls past its lease; a second run takes over and finishes.
      time.advance(DEFAULT_PURGE_LEASE_MS + 1);
      takeover = purgeOrganization(deps, 'orgA', 'second-run');
      await takeover;
    };
    await expect(purgeOrganization({ ...deps, onPage }, 'orgA', 'first-run')).rejects.toThrow(/another run took over/);
    expect(await takeover).toMatchObject({ status: 'purged' });
    expect([...(await dumpProject(db)).keys()].filter(under(paths.org('orgA')))).toEqual([]);
  });
});
