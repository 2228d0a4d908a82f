/** Prints the matrix a run proved, compactly: one block per state of A, one line per (row, op, target). */
import { orgStates, principals, rowIds, operationsOf, cellKey } from './contract';
import type { CellResult } from './lanes';
import { present } from '../support/present';

const shortNames: Record<string, string> = {
  ownerA: 'oA',
  adminA: 'aA',
  memberA: 'mA',
  viewerA: 'vA',
  ownerB: 'oB',
  outsider: 'out',
  anonymous: 'ano',
  formerA: 'fmr',
  forgedB: 'fgd',
};

/**
 * `Y` allowed, `.` denied, followed by the rules' document lookups when the offline emulator reported them;
 * `!` marks a cell where the emulator disagreed with the contract.
 */
export function formatMatrix(results: CellResult[]): string {
  const byKey = new Map(results.map((r) => [cellKey(r.cell), r]));
  const names = principals.map((p) => shortNames[p.id].padStart(4)).join('');
  const lines = [
    'Access matrix proved (Y allowed, . denied, digit = rules document lookups, ! = disagrees with the contract)',
    `principals: ${principals.map((p) => `${shortNames[p.id]} = ${p.label}`).join('; ')}`,
  ];
  for (const state of orgStates) {
    lines.push('', `${`A ${state}, B active`.padEnd(30)}${'target A'.padEnd(principals.length * 4)}   target B`);
    lines.push(`${''.padEnd(30)}${names}   ${names}`);
    for (const row of rowIds) {
      for (const op of operationsOf(row)) {
        const line = (org: 'A' | 'B') => principals.map((p) => mark(byKey.get(cellKey({ state, principal: p.id, row, op, org }))).padStart(4)).join('');
        lines.push(`  ${`${row} ${op}`.padEnd(28)}${line('A')}   ${line('B')}`);
      }
    }
  }
  return lines.join('\n');
}

function mark(result: CellResult | undefined): string {
  if (!result) return '';
  const symbol = result.allowed ? 'Y' : '.';
  const wrong = result.allowed !== result.expected || result.problems.length > 0 ? '!' : '';
  return `${wrong}${symbol}${result.lookups ?? ''}`;
}

/** Rules cost per kind of request: the maximum and the distribution of lookups per cell. */
export function formatCost(results: CellResult[]): string {
  const lines = ['Rules cost per cell (document lookups, offline emulator):'];
  for (const kind of ['read', 'write'] as const) {
    const cells = results.filter((r) => (r.cell.op === 'get' || r.cell.op === 'list' ? 'read' : 'write') === kind && r.lookups !== undefined);
    const histogram = new Map<number, number>();
    for (const lookups of cells.map((r) => present(r.lookups, 'lookups'))) histogram.set(lookups, (histogram.get(lookups) ?? 0) + 1);
    const parts = [...histogram].sort(([a], [b]) => a - b).map(([lookups, count]) => `${lookups}: ${count} cells`);
    lines.push(`  ${kind}s: max ${Math.max(0, ...cells.map((r) => present(r.lookups, 'lookups')))}  (${parts.join(', ')})`);
  }
  return lines.join('\n');
}
