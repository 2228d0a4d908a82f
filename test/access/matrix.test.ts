/**
 * The access matrix, proved cell by cell: every (principal, row, operation, target organization, state of A)
 * of the contract table in ./contract.ts is one real request through @firebase/rules-unit-testing against the
 * emulator with firestore.rules loaded, allowed cells and denied cells alike. Allowed reads must return the
 * data, allowed writes must show in the stored documents, denied writes must change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allCells, cellKey, expectedAllowed, orgStates, principals, type Cell } from './contract';
import { runLane, type CellResult, type LaneResult } from './lanes';
import { formatCost, formatMatrix } from './report';
import { offlineEmulator } from '../support/rules';
import { present } from '../support/present';

const cells = allCells();
const results = new Map<string, CellResult>();
let lanes: LaneResult[] = [];
let elapsedMs = 0;

beforeAll(async () => {
  const started = Date.now();
  lanes = await Promise.all(
    orgStates.flatMap((state) =>
      principals.map((principal) =>
        runLane(
          state,
          principal,
          cells.filter((c) => c.state === state && c.principal === principal.id),
        ),
      ),
    ),
  );
  for (const result of lanes.flatMap((lane) => lane.results)) results.set(cellKey(result.cell), result);
  elapsedMs = Date.now() - started;
}, 60_000);

afterAll(() => {
  if (results.size === 0) return;
  const all = [...results.values()];
  // Straight to stdout: the suite runs with `silent: 'passed-only'`, and the proved matrix is a result, not a log.
  process.stdout.write(
    `${formatMatrix(all)}\n\n${offlineEmulator ? formatCost(all) : 'Rules cost: reported by the offline emulator only.'}\n\n${all.length} cells in ${elapsedMs} ms\n`,
  );
});

describe('access matrix', () => {
  it('covers every principal, state, row and operation of the contract', () => {
    expect(results.size).toBe(cells.length);
    expect(cells.filter((c) => expectedAllowed(c)).length).toBeGreaterThan(0);
  });

  it('the former member had access until the server removed their membership (same client, same token)', () => {
    const former = lanes.filter((lane) => lane.principal.id === 'formerA');
    expect(former.map((lane) => [lane.state, lane.accessBeforeRemoval])).toEqual(orgStates.map((state) => [state, true]));
  });

  it.each(cells.map((cell) => [cellKey(cell), cell] as [string, Cell]))('%s', (_key, cell) => {
    const result = present(results.get(cellKey(cell)), `result of ${cellKey(cell)}`);
    expect({ request: result.request, allowed: result.allowed, problems: result.problems }).toEqual({
      request: result.request,
      allowed: result.expected,
      problems: [],
    });
  });

  it.skipIf(!offlineEmulator)('costs at most one document lookup per read and two per write', () => {
    const over = [...results.values()].filter((r) => present(r.lookups, 'lookups') > (r.cell.op === 'get' || r.cell.op === 'list' ? 1 : 2));
    expect(over.map((r) => `${cellKey(r.cell)}: ${r.lookups}`)).toEqual([]);
  });
});
