/**
 * What the matrix runs: the documents each lane starts from, and for every (row, operation) the real client
 * call that exercises it with a payload that is valid for the caller, so that a denial is the contract's
 * doing and never a malformed write.
 */
import type { DocumentData } from 'firebase/firestore';
import { Timestamp, type Firestore as AdminFirestore } from 'firebase-admin/firestore';
import {
  AUDIT_ENTRY_VERSION,
  auditEntrySchema,
  collectionGroups,
  configSchema,
  contactSchema,
  INVITE_VERSION,
  inviteSchema,
  MEMBER_VERSION,
  memberSchema,
  messageSchema,
  ORGANIZATION_VERSION,
  organizationSchema,
  paths,
  serverCollections,
  userProfileSchema,
  type Role,
} from '@leadpulse/model';
import { deriveAccessState } from '../../functions/src/orgs/access-state';
import { formerRole, type Cell, type OrgKey, type OrgState, type Principal } from './contract';
import { NOW, type AccessRequest } from './requests';

/** Organization ids of the two tenants in every lane. */
export const orgIds: Record<OrgKey, string> = { A: 'org-a', B: 'org-b' };
/** A member of each organization who is none of the principals: the target of member-row cells. */
export const teammateUid = (org: OrgKey) => `u-teammate-${org.toLowerCase()}`;
/** A person with a profile, who is no principal. */
const someoneElseUid = 'u-someone-else';
/** The uid an unauthenticated client's payloads name (they are denied before any field is read). */
export const anonymousUid = 'u-anonymous';

const serverLedgers = Object.values(serverCollections);

/** The target organization's state inputs, as the server would see them; `deriveAccessState` decides. */
function orgAccess(state: OrgState, now: Date) {
  const day = 24 * 60 * 60 * 1000;
  const inputs = {
    active: { orgStatus: 'active', subscriptionStatus: 'active', lapsedSince: null },
    read_only: { orgStatus: 'active', subscriptionStatus: 'unpaid', lapsedSince: new Date(now.getTime() - 30 * day) },
    deleting: { orgStatus: 'deleting', subscriptionStatus: 'active', lapsedSince: null },
  } as const;
  const input = inputs[state];
  return { status: input.orgStatus, access: deriveAccessState({ ...input, now }) };
}

/**
 * Every document a lane starts from, validated by the model's schemas: organizations A (in `state`) and B
 * (active), each with members, CRM data, billing mirror, invitation, audit entry; a profile; the ledgers. The
 * server-written ones carry the `schemaVersion` the server stamps, so the rules are judged on what is stored.
 */
export function laneSeed(state: OrgState, principals: readonly Principal[], withFormerMember: boolean): Map<string, DocumentData> {
  const now = new Date();
  const at = Timestamp.fromDate(now);
  const docs = new Map<string, DocumentData>();
  for (const org of ['A', 'B'] as const) {
    const orgId = orgIds[org];
    const { status, access } = orgAccess(org === 'A' ? state : 'active', now);
    const owner = principals.find((p) => p.memberOf[org] === 'owner');
    docs.set(
      paths.org(orgId),
      organizationSchema.parse({
        schemaVersion: ORGANIZATION_VERSION,
        name: `Organization ${org}`,
        ownerUid: owner?.uid ?? teammateUid(org),
        plan: 'pro',
        status,
        access,
        createdAt: at,
        ...(status === 'deleting' ? { deletionRequestedAt: at } : {}),
      }),
    );
    const members = new Map<string, Role>([[teammateUid(org), 'member']]);
    for (const p of principals) if (p.uid && p.memberOf[org]) members.set(p.uid, p.memberOf[org]);
    if (org === 'A' && withFormerMember) members.set('u-former-a', formerRole);
    for (const [uid, role] of members) {
      docs.set(
        paths.member(orgId, uid),
        memberSchema.parse({ schemaVersion: MEMBER_VERSION, uid, orgId, role, access, email: `${uid}@example.com`, joinedAt: at }),
      );
    }
    const contact = (name: string) => contactSchema.parse({ name, status: 'lead', createdBy: teammateUid(org), createdAt: at, updatedAt: at, notes: 'seeded' });
    // b-only exists in B alone: a message in A may not name it.
    for (const id of org === 'A' ? ['c1', 'c-update', 'c-delete'] : ['c1', 'c-update', 'c-delete', 'b-only']) {
      docs.set(paths.contact(orgId, id), contact(`Contact ${id}`));
    }
    // m1 was sent by a principal of the org, so "group messages where sentBy == own" would return only theirs.
    const sender = org === 'A' ? 'u-member-a' : 'u-owner-b';
    for (const id of ['m1', 'm-update', 'm-delete']) {
      docs.set(
        paths.message(orgId, id),
        messageSchema.parse({ contactId: 'c1', channel: 'email', direction: 'outbound', body: 'seeded', sentBy: sender, sentAt: at }),
      );
    }
    for (const id of ['general', 'cfg-delete']) {
      docs.set(paths.config(orgId, id), configSchema.parse({ pipelineStages: ['New', 'Won'], timezone: 'UTC', updatedBy: teammateUid(org), updatedAt: at }));
    }
    // The mirror's shape belongs to billing (functions/src/billing); the rules only decide who reads it.
    docs.set(paths.subscription(orgId), subscriptionMirror(at, access));
    docs.set(
      paths.invite(orgId, 'inv1'),
      inviteSchema.parse({
        schemaVersion: INVITE_VERSION,
        email: 'invitee@example.com',
        role: 'member',
        tokenHash: 'a'.repeat(64),
        invitedBy: teammateUid(org),
        createdAt: at,
        expiresAt: at,
      }),
    );
    docs.set(
      paths.auditEntry(orgId, 'e1'),
      auditEntrySchema.parse({ schemaVersion: AUDIT_ENTRY_VERSION, action: 'org.created', actorUid: teammateUid(org), targetId: orgId, at }),
    );
    docs.set(`${paths.org(orgId)}/secrets/s1`, { value: 'not in the contract' });
  }
  docs.set(paths.user(someoneElseUid), userProfileSchema.parse(profile('Someone Else', someoneElseUid, at)));
  for (const ledger of serverLedgers) docs.set(`${ledger}/ledger-1`, { seeded: true });
  for (const p of principals) docs.set(paths.marketingConsent(p.uid ?? anonymousUid), { seeded: true });
  return docs;
}

function subscriptionMirror(at: unknown, access: string): DocumentData {
  return {
    customerId: 'cus_demo',
    subscriptionId: 'sub_demo',
    status: 'active',
    plan: 'pro',
    priceId: 'price_demo',
    seats: 5,
    currentPeriodEnd: at,
    access,
    updatedAt: at,
  };
}

function profile(displayName: string, uid: string, at: unknown) {
  return { displayName, email: `${uid}@example.com`, createdAt: at, updatedAt: at };
}

export async function writeSeed(db: AdminFirestore, docs: Map<string, DocumentData>): Promise<void> {
  const entries = [...docs];
  for (let start = 0; start < entries.length; start += 400) {
    const batch = db.batch();
    for (const [path, data] of entries.slice(start, start + 400)) batch.set(db.doc(path), data);
    await batch.commit();
  }
}

/** One cell as a request, plus what shows that it took effect (writes) or returned data (reads). */
export interface CellCall {
  request: AccessRequest;
  /** Writes: the written document, and whether its stored state shows the write happened. */
  effect?: { path: string; applied(stored: DocumentData | undefined): boolean };
  /** Allowed reads through the client: throws unless the result carries what the cell read. */
  checkRead?(result: unknown): void;
}

const marker = (cell: Pick<Cell, 'principal'>) => `by ${cell.principal}`;

/** The documents a row's operations target, and the payloads of its writes (valid for the caller). */
interface RowTargets {
  collectionPath: string;
  ids: { get: string; create: string; update: string; delete: string };
  create: DocumentData;
  /** A top-level field update; its first field carries a value unique to the caller. */
  update: DocumentData;
}

function rowTargets(cell: Pick<Cell, 'row' | 'org' | 'principal'>, principal: Principal): RowTargets | null {
  const self = principal.uid ?? anonymousUid;
  const orgId = orgIds[cell.org];
  const mark = marker(cell);
  switch (cell.row) {
    case 'org':
      return {
        collectionPath: paths.orgs(),
        ids: { get: orgId, create: `new-org-${cell.org.toLowerCase()}`, update: orgId, delete: orgId },
        create: { name: 'Mine now', ownerUid: self, plan: 'enterprise', status: 'active', access: 'full', createdAt: NOW },
        update: { name: mark },
      };
    case 'member':
      return {
        collectionPath: paths.members(orgId),
        ids: { get: teammateUid(cell.org), create: 'u-new-member', update: teammateUid(cell.org), delete: teammateUid(cell.org) },
        create: { uid: 'u-new-member', orgId, role: 'owner', access: 'full', email: 'new@example.com', joinedAt: NOW },
        update: { displayName: mark },
      };
    case 'contact':
      return {
        collectionPath: paths.contacts(orgId),
        ids: { get: 'c1', create: 'new-contact', update: 'c-update', delete: 'c-delete' },
        create: { name: 'New contact', email: 'lead@example.com', tags: ['hot', 'q3'], status: 'lead', createdBy: self, createdAt: NOW, updatedAt: NOW },
        update: { notes: mark, updatedAt: NOW },
      };
    case 'message':
      return {
        collectionPath: paths.messages(orgId),
        ids: { get: 'm1', create: 'new-message', update: 'm-update', delete: 'm-delete' },
        create: { contactId: 'c1', channel: 'email', direction: 'outbound', subject: 'Hello', body: 'First contact', sentBy: self, sentAt: NOW },
        update: { body: mark },
      };
    case 'config':
      return {
        collectionPath: paths.configs(orgId),
        ids: { get: 'general', create: 'new-config', update: 'general', delete: 'cfg-delete' },
        create: { pipelineStages: ['Lead', 'Won'], defaultCurrency: 'EUR', updatedBy: self, updatedAt: NOW },
        update: { timezone: mark, updatedBy: self, updatedAt: NOW },
      };
    case 'billing':
      return {
        collectionPath: paths.billingDocs(orgId),
        ids: { get: 'subscription', create: 'new-billing', update: 'subscription', delete: 'subscription' },
        create: subscriptionMirror(NOW, 'full'),
        update: { plan: mark },
      };
    case 'invite':
      return {
        collectionPath: paths.invites(orgId),
        ids: { get: 'inv1', create: 'new-invite', update: 'inv1', delete: 'inv1' },
        create: { email: 'friend@example.com', role: 'admin', tokenHash: 'b'.repeat(64), invitedBy: self, createdAt: NOW, expiresAt: NOW },
        update: { role: mark },
      };
    case 'auditEntry':
      return {
        collectionPath: paths.auditLog(orgId),
        ids: { get: 'e1', create: 'new-entry', update: 'e1', delete: 'e1' },
        create: { action: 'org.updated', actorUid: self, at: NOW },
        update: { action: mark },
      };
    case 'unnamedOrgCollection':
      return {
        collectionPath: `${paths.org(orgId)}/secrets`,
        ids: { get: 's1', create: 'new-secret', update: 's1', delete: 's1' },
        create: { value: 'planted' },
        update: { value: mark },
      };
    case 'ownProfile':
      return {
        collectionPath: paths.users(),
        ids: { get: self, create: self, update: self, delete: self },
        create: { displayName: 'Me Myself', email: `${self}@example.com`, locale: 'en', createdAt: NOW, updatedAt: NOW },
        update: { displayName: mark, updatedAt: NOW },
      };
    case 'otherProfile':
      return {
        collectionPath: paths.users(),
        ids: { get: someoneElseUid, create: 'u-new-person', update: someoneElseUid, delete: someoneElseUid },
        create: { displayName: 'Planted', email: 'planted@example.com', createdAt: NOW, updatedAt: NOW },
        update: { displayName: mark, updatedAt: NOW },
      };
    default: {
      const ledger = cell.row as (typeof serverLedgers)[number];
      if (!serverLedgers.includes(ledger)) return null;
      const id = ledger === 'marketingConsents' ? self : 'ledger-1';
      return { collectionPath: ledger, ids: { get: id, create: 'ledger-new', update: id, delete: id }, create: { planted: true }, update: { seeded: mark } };
    }
  }
}

/** The request a cell makes. */
export function cellCall(cell: Cell, principal: Principal): CellCall {
  const self = principal.uid ?? anonymousUid;
  const orgId = orgIds[cell.org];
  switch (cell.row) {
    case 'ownMembership': {
      if (cell.op === 'get') {
        const path = paths.member(orgId, self);
        return { request: { kind: 'get', path }, checkRead: (s) => expectDocument(s, (data) => data.uid === self, `${path} with uid ${self}`) };
      }
      const expected = Object.keys(principal.memberOf)
        .map((key) => paths.member(orgIds[key as OrgKey], self))
        .sort();
      return {
        request: { kind: 'group', collectionId: collectionGroups.members, where: { field: 'uid', value: self } },
        checkRead: (snapshot) => {
          const docs = (snapshot as { docs: { data(): DocumentData; ref: { path: string } }[] }).docs;
          const got = docs.map((d) => d.ref.path).sort();
          if (JSON.stringify(got) !== JSON.stringify(expected) || docs.some((d) => d.data().uid !== self)) {
            throw new Error(`own memberships: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
          }
        },
      };
    }
    case 'memberGroupOfOther':
      return { request: { kind: 'group', collectionId: 'members', where: { field: 'uid', value: self === 'u-owner-a' ? 'u-owner-b' : 'u-owner-a' } } };
    case 'memberGroupAll':
      return { request: { kind: 'group', collectionId: 'members' } };
    case 'contactGroup':
      return { request: { kind: 'group', collectionId: 'contacts' } };
    case 'messageGroupOwn':
      return { request: { kind: 'group', collectionId: 'messages', where: { field: 'sentBy', value: self } } };
  }
  const targets = rowTargets(cell, principal);
  if (!targets) throw new Error(`no request for row ${cell.row}`);
  const { collectionPath, ids } = targets;
  switch (cell.op) {
    case 'get': {
      const path = `${collectionPath}/${ids.get}`;
      return { request: { kind: 'get', path }, checkRead: (s) => expectDocument(s, () => true, path) };
    }
    case 'list':
      return {
        request: { kind: 'list', collectionPath },
        checkRead: (snapshot) => {
          if ((snapshot as { size: number }).size === 0) throw new Error(`list ${collectionPath} returned nothing`);
        },
      };
    case 'create': {
      const path = `${collectionPath}/${ids.create}`;
      return { request: { kind: 'create', path, data: targets.create }, effect: { path, applied: (stored) => stored !== undefined } };
    }
    case 'update': {
      const path = `${collectionPath}/${ids.update}`;
      const [field, value] = Object.entries(targets.update)[0];
      return { request: { kind: 'update', path, data: targets.update }, effect: { path, applied: (stored) => stored?.[field] === value } };
    }
    case 'delete': {
      const path = `${collectionPath}/${ids.delete}`;
      return { request: { kind: 'delete', path }, effect: { path, applied: (stored) => stored === undefined } };
    }
  }
}

function expectDocument(snapshot: unknown, matches: (data: DocumentData) => boolean, what: string): void {
  const s = snapshot as { exists(): boolean; data(): DocumentData | undefined };
  if (!s.exists() || !matches(s.data() ?? {})) throw new Error(`expected to read ${what}`);
}
