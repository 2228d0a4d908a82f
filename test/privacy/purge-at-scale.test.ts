/**
 * P5 at production's scale (issue 16): a purge paced by BulkWriter's production ramp, simulated on a controlled clock
 * with the SDK's own rate limiter (test/support/production-ramp.ts), with the retention job's real budget share,
 * page size and schedule. Pessimistic page overhead (1 s per page of 500; the emulator measures 30–90 ms, see
 * `npm run bench -- scale`), and the grace period ending just after a run.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PAGE_SIZE } from '../../functions/src/common/bulk';
import { DEFAULT_RETENTION_BUDGET_MS, retentionTable } from '../../functions/src/privacy/retention';
import { DAY_MS, rampSeconds, simulatePurge, type PurgeModel } from '../support/production-ramp';

/** functions/src/index.ts: `retention` runs every 6 hours. */
const RUN_PERIOD_MS = 6 * 60 * 60 * 1000;
const GRACE_MS = 7 * DAY_MS;

const production = (documents: number): PurgeModel => ({
  documents,
  pageSize: DEFAULT_PAGE_SIZE,
  pageOverheadMs: 1000,
  // The organizations rule comes first in the table: an equal share of the whole budget.
  budgetMs: DEFAULT_RETENTION_BUDGET_MS / retentionTable.length,
  periodMs: RUN_PERIOD_MS,
  firstRunAfterMs: GRACE_MS + RUN_PERIOD_MS,
});

describe('the production ramp, simulated with the SDK rate limiter', () => {
  it('paces 500 writes/s (after a first burst of 500) for 5 minutes, then 750/s', () => {
    expect(rampSeconds(500)).toBe(0);
    // Within a second: the limiter waits in whole milliseconds.
    expect(Math.abs(rampSeconds(30_500) - 60)).toBeLessThan(1);
    // 500, then 300 s at 500/s, then 60 s at 750/s.
    expect(Math.abs(rampSeconds(500 + 150_000 + 45_000) - 360)).toBeLessThan(1);
  });
});

describe('P5: a deleted organization is gone within 30 days', () => {
  it('1,000,000 documents: gone within 30 days of the request, over several runs that each resume', () => {
    const timeline = simulatePurge(production(1_000_000));
    expect(timeline.invocations).toBeGreaterThan(1);
    expect(timeline.doneAfterMs).toBeLessThanOrEqual(30 * DAY_MS);
  });

  it('10,000,000 documents: not within 30 days, the limit docs/scale.md states (about 6 million)', () => {
    expect(simulatePurge(production(10_000_000)).doneAfterMs).toBeGreaterThan(30 * DAY_MS);
    expect(simulatePurge(production(5_500_000)).doneAfterMs).toBeLessThanOrEqual(30 * DAY_MS);
    expect(simulatePurge(production(6_500_000)).doneAfterMs).toBeGreaterThan(30 * DAY_MS);
  });
});
