import { Firestore, Timestamp, Transaction } from 'firebase-admin/firestore';
import { auditEntrySchema, paths, type AuditEntry } from '@leadpulse/model';

/** Records a privileged action (P14) inside the transaction that performs it, so neither exists without the other. */
export function writeAuditEntry(db: Firestore, tx: Transaction, orgId: string, entry: Omit<AuditEntry, 'at'>, at: Date): void {
  const ref = db.collection(paths.auditLog(orgId)).doc();
  tx.create(ref, auditEntrySchema.parse({ ...entry, at: Timestamp.fromDate(at) }));
}
