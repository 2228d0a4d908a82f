/**
 * Runs the matrix. A lane is one principal in one state of organization A, in a project of its own (seeded
 * from `laneSeed`), so lanes run side by side while the cells of a lane run one after another: each cell's
 * rules decisions, and so its document lookups, are then exactly the decisions logged since the previous one.
 */
import { getDoc, doc, setLogLevel, type DocumentData, type Firestore as ClientFirestore } from 'firebase/firestore';
import type { RulesTestEnvironment } from '@firebase/rules-unit-testing';
import type { Firestore as AdminFirestore } from 'firebase-admin/firestore';
import { paths } from '@leadpulse/model';
import { adminFirestore, uniqueProjectId } from '../support/firestore';
import { RulesDecisionReader, offlineEmulator, outcome, rulesTestEnvironment } from '../support/rules';
import { expectedAllowed, operations, rowIds, type Cell, type OrgState, type Principal, principals } from './contract';
import { anonymousUid, cellCall, laneSeed, orgIds, writeSeed } from './fixtures';
import { describeRequest, runOnClient } from './requests';
import { present } from '../support/present';

export interface CellResult {
  cell: Cell;
  request: string;
  expected: boolean;
  allowed: boolean;
  /** Document lookups the rules made (offline emulator only). */
  lookups?: number;
  /** What went wrong besides the decision itself: data not returned, write not applied or applied anyway. */
  problems: string[];
}

/** Cells of one lane in the order they run: row by row, reads before writes, deletes last. */
function laneOrder(cells: Cell[]): Cell[] {
  const opRank = (cell: Cell) =>
    // A profile must be created before it can be read or updated.
    cell.row === 'ownProfile' && cell.op === 'create' ? -1 : operations.indexOf(cell.op);
  return [...cells].sort((a, b) => rowIds.indexOf(a.row) - rowIds.indexOf(b.row) || a.org.localeCompare(b.org) || opRank(a) - opRank(b));
}

// Denied writes are the point of most cells; the SDK would log each one as a stream error.
setLogLevel('silent');

export interface LaneResult {
  state: OrgState;
  principal: Principal;
  results: CellResult[];
  /** The former member's lane: whether their access worked before the server removed them. */
  accessBeforeRemoval?: boolean;
}

export async function runLane(state: OrgState, principal: Principal, cells: Cell[]): Promise<LaneResult> {
  const projectId = uniqueProjectId(`acc-${state.replace('_', '')}-${principal.id.toLowerCase()}`);
  const admin = adminFirestore(projectId);
  let env: RulesTestEnvironment | undefined;
  try {
    const isFormer = principal.id === 'formerA';
    await writeSeed(admin.db, laneSeed(state, principals, isFormer));
    env = await rulesTestEnvironment(projectId);
    const context = principal.uid === null ? env.unauthenticatedContext() : env.authenticatedContext(principal.uid, principal.claims);
    const db = context.firestore() as unknown as ClientFirestore;
    const accessBeforeRemoval = isFormer ? await removeFormerMember(db, admin.db, state) : undefined;
    const decisions = new RulesDecisionReader(projectId);
    if (offlineEmulator) await decisions.next();

    const results: CellResult[] = [];
    for (const cell of laneOrder(cells)) {
      const call = cellCall(cell, principal);
      const result = await outcome(() => runOnClient(db, call.request));
      const problems: string[] = [];
      if (result.allowed && call.checkRead) {
        try {
          call.checkRead(result.value);
        } catch (error) {
          problems.push((error as Error).message);
        }
      }
      const logged = offlineEmulator ? await decisions.next() : [];
      // The SDK occasionally sends a request twice (a write stream restart resends pending writes): each
      // decision is one evaluation of this cell's request, so its cost is the largest of them.
      const lookups = offlineEmulator ? Math.max(0, ...logged.map((d) => d.lookups)) : undefined;
      const expected = expectedAllowed(cell);
      // When a cell disagrees, the rules' own explanation (offline emulator) is the fastest way to the cause.
      if (expected && !result.allowed) problems.push(...logged.flatMap((d) => (d.message ? [`rules: ${d.message}`] : [])));
      results.push({ cell, request: describeRequest(call.request), expected, allowed: result.allowed, lookups, problems });
      // The profile must exist for the cells after create, whoever may create it; a denied create is checked
      // to have stored nothing before the profile is seeded.
      if (cell.row === 'ownProfile' && cell.op === 'create' && !result.allowed) {
        const profile = admin.db.doc(paths.user(principal.uid ?? anonymousUid));
        if ((await profile.get()).exists) problems.push(`write was denied but ${profile.path} changed`);
        await profile.set({ displayName: 'Seeded', email: `${profile.id}@example.com`, createdAt: new Date(), updatedAt: new Date() });
      }
    }
    await checkEffects(admin.db, results, principal);
    return { state, principal, results, accessBeforeRemoval };
  } finally {
    await env?.cleanup();
    await admin.close();
  }
}

/** Writes that were allowed must show in the stored data; writes that were denied must have changed nothing. */
async function checkEffects(db: AdminFirestore, results: CellResult[], principal: Principal): Promise<void> {
  const writes = results.filter(
    (r) =>
      (r.cell.op === 'create' || r.cell.op === 'update' || r.cell.op === 'delete') && !(r.cell.row === 'ownProfile' && r.cell.op === 'create' && !r.allowed),
  );
  const calls = writes.map((r) => present(cellCall(r.cell, principal).effect, `the effect of a ${r.cell.row} ${r.cell.op}`));
  const snapshots = await db.getAll(...calls.map((effect) => db.doc(effect.path)));
  writes.forEach((result, index) => {
    const stored: DocumentData | undefined = snapshots[index].data();
    const applied = calls[index].applied(stored);
    if (applied !== result.allowed) {
      result.problems.push(
        result.allowed ? `write was allowed but ${calls[index].path} does not show it` : `write was denied but ${calls[index].path} changed`,
      );
    }
  });
}

/**
 * The former member had access (proved by one read that works), then the server removed their member
 * document; the cells that follow run with the same client and the same ID token: no refresh.
 */
async function removeFormerMember(db: ClientFirestore, admin: AdminFirestore, state: OrgState): Promise<boolean> {
  const orgId = orgIds.A;
  // While A is being deleted, the one thing a member can read is their own member document.
  const probe = state === 'deleting' ? paths.member(orgId, 'u-former-a') : paths.contact(orgId, 'c1');
  const before = await outcome(() => getDoc(doc(db, probe)));
  await admin.doc(paths.member(orgId, 'u-former-a')).delete();
  return before.allowed;
}
