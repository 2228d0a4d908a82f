/**
 * P11: an owner or admin erases a customer's personal data, the contact and every message linked to it, in one
 * call that reports what it removed and leaves an audit entry without contact data.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Timestamp, type Firestore } from 'firebase-admin/firestore';
import { AUDIT_ENTRY_VERSION, messageSchema, paths } from '@leadpulse/model';
import { eraseContact, type ContactErasureDeps } from '../../functions/src/privacy/contact-erasure';
import { digest, dumpProject, expectRefusedWithoutChange, under } from '../support/snapshot';
import { START, caller, freshProject, manualClock, onePersonPerRole, seedOrg, uid } from './support';

let db: Firestore;
let close: () => Promise<void>;
let deps: ContactErasureDeps;
let owner: string;
let admin: string;
let member: string;
let viewer: string;

beforeEach(async () => {
  ({ db, close } = freshProject('privacy-erasure'));
  deps = { db, clock: manualClock().clock, pageSize: 3 };
  const people = onePersonPerRole('owner', 'admin', 'member', 'viewer');
  ({ owner, admin, member, viewer } = people.uids);
  await seedOrg(db, { orgId: 'orgA', now: START, members: people.members, contacts: 3, messagesPerContact: 7 });
  await seedOrg(db, { orgId: 'orgB', now: START, members: [{ uid: uid('ownerB'), role: 'owner' }], contacts: 3, messagesPerContact: 2 });
});
afterEach(async () => close());

const target = 'contact000001';

describe('eraseContact', () => {
  for (const role of ['owner', 'admin'] as const) {
    it(`an ${role} erases the contact and all its messages (in pages), and nothing else`, async () => {
      const who = role === 'owner' ? owner : admin;
      const before = await dumpProject(db);
      const erased = (path: string) => path === paths.contact('orgA', target) || path.startsWith(paths.message('orgA', `${target}-`));
      const isAudit = under(paths.auditLog('orgA'));

      expect(await eraseContact(deps, caller(who), { orgId: 'orgA', contactId: target })).toEqual({
        contactId: target,
        contactsDeleted: 1,
        messagesDeleted: 7,
      });

      const after = await dumpProject(db);
      expect([...after.keys()].filter(erased)).toEqual([]);
      expect([...before.keys()].filter(erased)).toHaveLength(8);
      // Every other document, in org A and in org B, is untouched.
      const rest = (path: string) => !erased(path) && !isAudit(path);
      expect(digest(after, rest)).toBe(digest(before, rest));

      const audit = [...after.entries()].filter(([path]) => isAudit(path)).map(([, doc]) => doc.data);
      expect(audit).toEqual([
        {
          schemaVersion: AUDIT_ENTRY_VERSION,
          action: 'privacy.contact_erased',
          actorUid: who,
          targetId: target,
          details: { contacts: 1, messages: 7 },
          at: { $timestamp: '2030-03-01T10:00:00.000000000Z' },
          // The TTL field: 179 days later (TTL deletes within 24 hours after, so by 180 days: P7).
          expiresAt: { $timestamp: '2030-08-27T10:00:00.000000000Z' },
        },
      ]);
      expect(JSON.stringify(audit)).not.toMatch(/Customer|customer1@|Dear|555/);
    });
  }

  it('erases messages whose contact is already gone (e.g. after an interrupted erasure)', async () => {
    await db.doc(paths.contact('orgA', target)).delete();
    expect(await eraseContact(deps, caller(admin), { orgId: 'orgA', contactId: target })).toEqual({
      contactId: target,
      contactsDeleted: 0,
      messagesDeleted: 7,
    });
    expect((await db.collection(paths.messages('orgA')).where('contactId', '==', target).get()).size).toBe(0);
  });

  it('takes a message written while the erasure runs', async () => {
    const late = db.doc(paths.message('orgA', 'late-message'));
    const writeLateMessage = async () => {
      await late.set(
        messageSchema.parse({ contactId: target, channel: 'note', direction: 'inbound', body: 'late', sentBy: member, sentAt: Timestamp.fromDate(START) }),
      );
    };
    // The message lands between the page loop and the closing transaction.
    const racing: ContactErasureDeps = { ...deps, pageSize: 100 };
    const original = db.runTransaction.bind(db);
    let transactions = 0;
    db.runTransaction = async (fn: never, options?: never) => {
      transactions++;
      if (transactions === 2) await writeLateMessage();
      return original(fn, options);
    };
    try {
      expect(await eraseContact(racing, caller(owner), { orgId: 'orgA', contactId: target })).toEqual({
        contactId: target,
        contactsDeleted: 1,
        messagesDeleted: 8,
      });
    } finally {
      db.runTransaction = original;
    }
    expect((await late.get()).exists).toBe(false);
  });

  it('refuses members, viewers and outsiders with permission-denied, changing nothing', async () => {
    for (const who of [member, viewer, uid('outsider')]) {
      await expectRefusedWithoutChange(db, () => eraseContact(deps, caller(who), { orgId: 'orgA', contactId: target }), 'permission-denied');
    }
  });

  it('refuses an unknown contact with not-found and bad arguments with invalid-argument, changing nothing', async () => {
    await expectRefusedWithoutChange(db, () => eraseContact(deps, caller(owner), { orgId: 'orgA', contactId: 'nobody' }), 'not-found');
    const cases: Array<[unknown, string]> = [
      [{ orgId: 'orgA' }, 'contactId'],
      [{ contactId: target }, 'orgId'],
      [{ orgId: 'orgA', contactId: '../x' }, 'contactId'],
      [{ orgId: 'orgA', contactId: target, messages: false }, 'messages'],
    ];
    for (const [data, field] of cases) {
      const error = await expectRefusedWithoutChange(db, () => eraseContact(deps, caller(owner), data), 'invalid-argument');
      expect(error.details).toEqual({ field });
    }
  });
});
