/**
 * The access contract (docs/access-contract.md) as ONE table, and the oracle derived from it. The
 * matrix suite, the property tests and the printed matrix are all generated from `contract` below; the rules
 * are never consulted here. Read it side by side with the spec's "Documents" table.
 */
import type { AccessState, Role } from '@leadpulse/model';

export type Operation = 'get' | 'list' | 'create' | 'update' | 'delete';
export const operations: readonly Operation[] = ['get', 'list', 'create', 'update', 'delete'];
export const isWrite = (op: Operation): boolean => op === 'create' || op === 'update' || op === 'delete';

/** Who a cell of the spec's table names. */
export type Who =
  | 'anyMember' // owner, admin, member or viewer of that same organization
  | 'managers' // owner, admin
  | 'crmWriters' // owner, admin, member
  | 'self' // that user (their own profile, their own memberships)
  | 'noOne'; // nobody from a client (the server, through the Admin SDK)

const whoRoles: Record<'anyMember' | 'managers' | 'crmWriters', readonly Role[]> = {
  anyMember: ['owner', 'admin', 'member', 'viewer'],
  managers: ['owner', 'admin'],
  crmWriters: ['owner', 'admin', 'member'],
};

/**
 * The rows. `scope: 'org'` rows live under `orgs/{orgId}` and are subject to the organization's state;
 * `self` rows concern the caller's own documents; `server` rows are ledgers no client may touch; `query`
 * rows are list-only shapes the spec calls out (collection-group queries, lists without a tenant constraint).
 */
export const contract = {
  org: { scope: 'org', path: 'orgs/{orgId}', get: 'anyMember', list: 'noOne', create: 'noOne', update: 'managers', delete: 'noOne' },
  member: { scope: 'org', path: 'orgs/{orgId}/members/{uid}', get: 'anyMember', list: 'anyMember', create: 'noOne', update: 'noOne', delete: 'noOne' },
  contact: {
    scope: 'org',
    path: 'orgs/{orgId}/contacts/{id}',
    get: 'anyMember',
    list: 'anyMember',
    create: 'crmWriters',
    update: 'crmWriters',
    delete: 'managers',
  },
  message: { scope: 'org', path: 'orgs/{orgId}/messages/{id}', get: 'anyMember', list: 'anyMember', create: 'crmWriters', update: 'noOne', delete: 'managers' },
  config: { scope: 'org', path: 'orgs/{orgId}/config/{id}', get: 'anyMember', list: 'anyMember', create: 'managers', update: 'managers', delete: 'managers' },
  billing: { scope: 'org', path: 'orgs/{orgId}/billing/{id}', get: 'managers', list: 'managers', create: 'noOne', update: 'noOne', delete: 'noOne' },
  invite: { scope: 'org', path: 'orgs/{orgId}/invites/{id}', get: 'managers', list: 'managers', create: 'noOne', update: 'noOne', delete: 'noOne' },
  auditEntry: { scope: 'org', path: 'orgs/{orgId}/auditLog/{id}', get: 'managers', list: 'managers', create: 'noOne', update: 'noOne', delete: 'noOne' },
  ownProfile: { scope: 'self', path: 'users/{own uid}', get: 'self', list: 'noOne', create: 'self', update: 'self', delete: 'noOne' },
  otherProfile: { scope: 'server', path: 'users/{another uid}', get: 'noOne', list: 'noOne', create: 'noOne', update: 'noOne', delete: 'noOne' },
  /** get: `orgs/{orgId}/members/{own uid}`; list: collectionGroup('members').where('uid', '==', own uid). */
  ownMembership: { scope: 'self', path: 'orgs/{orgId}/members/{own uid}; group members where uid == own', get: 'self', list: 'self' },
  memberGroupOfOther: { scope: 'query', path: "group members where uid == another's", list: 'noOne' },
  memberGroupAll: { scope: 'query', path: 'group members (no constraint)', list: 'noOne' },
  contactGroup: { scope: 'query', path: 'group contacts (every org)', list: 'noOne' },
  /** Every message it would return today was sent by the caller; still denied: it could reach other orgs. */
  messageGroupOwn: { scope: 'query', path: 'group messages where sentBy == own', list: 'noOne' },
  stripeEvents: { scope: 'server', path: 'stripeEvents/{id}', get: 'noOne', list: 'noOne', create: 'noOne', update: 'noOne', delete: 'noOne' },
  stripeCustomers: { scope: 'server', path: 'stripeCustomers/{id}', get: 'noOne', list: 'noOne', create: 'noOne', update: 'noOne', delete: 'noOne' },
  billingRecords: { scope: 'server', path: 'billingRecords/{id}', get: 'noOne', list: 'noOne', create: 'noOne', update: 'noOne', delete: 'noOne' },
  usageEvents: { scope: 'server', path: 'usageEvents/{id}', get: 'noOne', list: 'noOne', create: 'noOne', update: 'noOne', delete: 'noOne' },
  deletionRequests: { scope: 'server', path: 'deletionRequests/{id}', get: 'noOne', list: 'noOne', create: 'noOne', update: 'noOne', delete: 'noOne' },
  deletionReceipts: { scope: 'server', path: 'deletionReceipts/{id}', get: 'noOne', list: 'noOne', create: 'noOne', update: 'noOne', delete: 'noOne' },
  marketingConsents: { scope: 'server', path: 'marketingConsents/{own uid}', get: 'noOne', list: 'noOne', create: 'noOne', update: 'noOne', delete: 'noOne' },
  /** Any path the contract does not name, even under an organization. */
  unnamedOrgCollection: { scope: 'server', path: 'orgs/{orgId}/secrets/{id}', get: 'noOne', list: 'noOne', create: 'noOne', update: 'noOne', delete: 'noOne' },
} as const satisfies Record<string, Row>;

interface Row {
  scope: 'org' | 'self' | 'query' | 'server';
  path: string;
  get?: Who;
  list?: Who;
  create?: Who;
  update?: Who;
  delete?: Who;
}

export type RowId = keyof typeof contract;
export const rowIds = Object.keys(contract) as RowId[];

/** The operations a row has (query rows are list-only, own memberships have get and list). */
export function operationsOf(row: RowId): Operation[] {
  const spec: Row = contract[row];
  return operations.filter((op) => spec[op] !== undefined);
}

/** The state of the target organization, as the server derives it (`member.access` carries it). */
export type OrgState = 'active' | 'read_only' | 'deleting';
export const orgStates: readonly OrgState[] = ['active', 'read_only', 'deleting'];
export const accessOf: Record<OrgState, AccessState> = { active: 'full', read_only: 'read_only', deleting: 'none' };

export type OrgKey = 'A' | 'B';

/**
 * The principals the spec requires. `memberOf` is what the server wrote (member documents); `claims` is what
 * the ID token carries, which must change nothing. The former member's membership of A is removed after it
 * has been used (the suite proves it worked before removal).
 */
export interface Principal {
  id: PrincipalId;
  label: string;
  uid: string | null;
  memberOf: Partial<Record<OrgKey, Role>>;
  claims?: Record<string, unknown>;
}

export type PrincipalId = 'ownerA' | 'adminA' | 'memberA' | 'viewerA' | 'ownerB' | 'outsider' | 'anonymous' | 'formerA' | 'forgedB';

export const principals: readonly Principal[] = [
  { id: 'ownerA', label: 'owner of A', uid: 'u-owner-a', memberOf: { A: 'owner' } },
  { id: 'adminA', label: 'admin of A', uid: 'u-admin-a', memberOf: { A: 'admin' } },
  { id: 'memberA', label: 'member of A', uid: 'u-member-a', memberOf: { A: 'member' } },
  { id: 'viewerA', label: 'viewer of A', uid: 'u-viewer-a', memberOf: { A: 'viewer' } },
  { id: 'ownerB', label: 'owner of B', uid: 'u-owner-b', memberOf: { B: 'owner' } },
  { id: 'outsider', label: 'signed in, no organization', uid: 'u-outsider', memberOf: {} },
  { id: 'anonymous', label: 'unauthenticated', uid: null, memberOf: {} },
  { id: 'formerA', label: 'former member of A (removed)', uid: 'u-former-a', memberOf: {} },
  {
    id: 'forgedB',
    label: 'owner of B with forged claims naming A',
    uid: 'u-owner-b',
    memberOf: { B: 'owner' },
    claims: { orgs: { A: 'owner' }, role: 'owner', admin: true },
  },
];

const principalById = Object.fromEntries(principals.map((p) => [p.id, p])) as Record<PrincipalId, Principal>;

/** The role the former member held before removal; the suite uses it to prove access worked until then. */
export const formerRole: Role = 'member';

/**
 * One cell: a principal performs `op` on `row` of organization `org` (`A`, whose state is `state`, or `B`,
 * always active), or on a non-organization row (`org` ignored).
 */
export interface Cell {
  principal: PrincipalId;
  row: RowId;
  op: Operation;
  org: OrgKey;
  state: OrgState;
}

/** The state of the organization a cell targets: A's is the cell's state, B is always active. */
function targetState(cell: Pick<Cell, 'org' | 'state'>): OrgState {
  return cell.org === 'A' ? cell.state : 'active';
}

/** The oracle: is this cell allowed by the contract? */
export function expectedAllowed(cell: Cell): boolean {
  const spec: Row = contract[cell.row];
  const who = spec[cell.op];
  if (who === undefined) throw new Error(`${cell.row} has no ${cell.op} cell in the contract`);
  if (who === 'noOne') return false;
  const principal = principalById[cell.principal];
  if (principal.uid === null) return false;
  if (who === 'self') {
    // A person's own memberships: the list is always theirs to run; a single one exists only if they are a
    // member (in any state: the member document is how they learn the organization is being deleted).
    if (cell.row === 'ownMembership' && cell.op === 'get') return principal.memberOf[cell.org] !== undefined;
    return true;
  }
  const role = principal.memberOf[cell.org];
  if (role === undefined) return false;
  const state = targetState(cell);
  if (state === 'deleting') return false;
  if (state === 'read_only' && isWrite(cell.op)) return false;
  return whoRoles[who].includes(role);
}

/**
 * Every cell of the matrix: principal × row × operation × target organization × state of A. The state of A
 * matters only to A's documents (and to one's own membership of A), so B's documents and the rows outside
 * organizations are proved once, with A active.
 */
export function allCells(): Cell[] {
  const cells: Cell[] = [];
  for (const state of orgStates) {
    for (const principal of principals) {
      for (const row of rowIds) {
        const underOrg = contract[row].scope === 'org' || row === 'ownMembership' || row === 'unnamedOrgCollection';
        if (!underOrg && state !== 'active') continue;
        const orgs: OrgKey[] = underOrg && state === 'active' ? ['A', 'B'] : ['A'];
        for (const org of orgs) {
          for (const op of operationsOf(row)) {
            // The membership list spans organizations: one cell per principal and state.
            if (row === 'ownMembership' && op === 'list' && org === 'B') continue;
            cells.push({ principal: principal.id, row, op, org, state });
          }
        }
      }
    }
  }
  return cells;
}

export function cellKey(cell: Cell): string {
  return `${cell.state}/${cell.principal}/${cell.org}/${cell.row}/${cell.op}`;
}
