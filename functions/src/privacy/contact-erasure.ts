import type { Firestore } from 'firebase-admin/firestore';
import { HttpsError } from 'firebase-functions/v2/https';
import { eraseContactArgsSchema, paths } from '@leadpulse/model';
import { parseArgs, type Caller } from '../common/callable';
import type { Clock } from '../common/clock';
import { writeAuditEntry } from '../orgs/audit';
import { requireCallerMembership } from '../orgs/membership-access';
import { DEFAULT_PAGE_SIZE, deleteAll, drainQuery, withBulkWriter, type BulkOptions } from '../common/bulk';

export interface ContactErasureDeps extends BulkOptions {
  db: Firestore;
  clock: Clock;
}

export interface ContactErasure {
  contactId: string;
  contactsDeleted: 0 | 1;
  messagesDeleted: number;
}

/** Messages the closing transaction deletes itself; more than that and the page loop runs again. */
const FINAL_TRANSACTION_MESSAGES = 400;

/**
 * `eraseContact` (owner or admin, P11): deletes a contact and every message linked to it, and records the
 * erasure with its counts in the audit log (no contact data in it). Messages go first, in pages; the contact and
 * the audit entry go last in one transaction that also takes any message written meanwhile. Interrupted, it
 * leaves the contact in place, so calling again finishes the erasure.
 */
export async function eraseContact(deps: ContactErasureDeps, caller: Caller, data: unknown): Promise<ContactErasure> {
  const { orgId, contactId } = parseArgs(eraseContactArgsSchema, data);
  const { db } = deps;
  const contactRef = db.doc(paths.contact(orgId, contactId));
  const linkedMessages = db.collection(paths.messages(orgId)).where('contactId', '==', contactId);

  const anythingToErase = await db.runTransaction(
    async (tx) => {
      await requireCallerMembership(db, tx, orgId, caller, ['owner', 'admin']);
      const [contact, messages] = await Promise.all([tx.get(contactRef), tx.get(linkedMessages.select().limit(1))]);
      return contact.exists || !messages.empty;
    },
    { readOnly: true },
  );
  if (!anythingToErase) throw new HttpsError('not-found', `there is no contact ${contactId} and no message linked to it`);

  let messagesDeleted = 0;
  for (;;) {
    messagesDeleted += await withBulkWriter(db, deps, async (writer) => {
      const drained = await drainQuery(linkedMessages, deps.pageSize ?? DEFAULT_PAGE_SIZE, (refs) => deleteAll(writer, refs));
      return drained.handled;
    });
    const closed = await db.runTransaction(async (tx) => {
      await requireCallerMembership(db, tx, orgId, caller, ['owner', 'admin']);
      const [contact, stragglers] = await Promise.all([tx.get(contactRef), tx.get(linkedMessages.select().limit(FINAL_TRANSACTION_MESSAGES))]);
      if (stragglers.size === FINAL_TRANSACTION_MESSAGES) return null;
      for (const message of stragglers.docs) tx.delete(message.ref);
      const contactsDeleted: 0 | 1 = contact.exists ? 1 : 0;
      if (contact.exists) tx.delete(contactRef);
      const total = messagesDeleted + stragglers.size;
      writeAuditEntry(
        db,
        tx,
        orgId,
        { action: 'privacy.contact_erased', actorUid: caller.uid, targetId: contactId, details: { contacts: contactsDeleted, messages: total } },
        deps.clock(),
      );
      return { contactId, contactsDeleted, messagesDeleted: total };
    });
    if (closed) return closed;
  }
}
