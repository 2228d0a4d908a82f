import { Firestore, Timestamp, Transaction } from 'firebase-admin/firestore';
import { AUDIT_ENTRY_VERSION, auditEntrySchema, LOG_TTL_DAYS, paths, type AuditEntry } from '@leadpulse/model';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The TTL instant of an entry made at `at` (P7: TTL deletes it within 24 hours after, so by 180 days). */
export function auditExpiresAt(at: Date): Timestamp {
  return Timestamp.fromMillis(at.getTime() + LOG_TTL_DAYS * DAY_MS);
}

/** Records a privileged action (P14) inside the transaction that performs it, so neither exists without the other. */
export function writeAuditEntry(db: Firestore, tx: Transaction, orgId: string, entry: Omit<AuditEntry, 'schemaVersion' | 'at' | 'expiresAt'>, at: Date): void {
  const ref = db.collection(paths.auditLog(orgId)).doc();
  tx.create(ref, auditEntrySchema.parse({ schemaVersion: AUDIT_ENTRY_VERSION, ...entry, at: Timestamp.fromDate(at), expiresAt: auditExpiresAt(at) }));
}
