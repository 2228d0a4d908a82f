import { Timestamp } from 'firebase-admin/firestore';
import { BILLING_RECORD_RETENTION_YEARS, type BillingRecord, type InvoiceFacts, type InvoiceStatus } from '@leadpulse/model';

/**
 * An invoice only moves forward: draft → open → (uncollectible →) paid or void. This rank is the invoice's own
 * version, so an older event can never overwrite a newer state, whatever order the events arrive in.
 */
const invoiceStatusRank: Record<InvoiceStatus, number> = { draft: 0, open: 1, uncollectible: 2, paid: 3, void: 3 };

/**
 * Whether the record must be (re)written: the invoice state is newer, or the record was written before its
 * customer was linked and the organization is known now.
 */
export function recordNeedsWrite(existing: BillingRecord | null, facts: InvoiceFacts, orgId: string | null): boolean {
  if (isNewerInvoiceState(existing, facts)) return true;
  return existing !== null && existing.orgId === null && orgId !== null;
}

/**
 * Whether `facts` are newer than the stored record: a later status, or for the same status more paid (partial
 * payments of an open invoice). Drafts are not issued invoices and are never recorded.
 */
export function isNewerInvoiceState(existing: BillingRecord | null, facts: InvoiceFacts): boolean {
  const rank = invoiceStatusRank[facts.status];
  if (rank === 0) return false;
  if (existing === null) return true;
  const existingRank = invoiceStatusRank[existing.status];
  if (rank !== existingRank) return rank > existingRank;
  return facts.amountPaid > existing.amountPaid;
}

/** The date until which a record issued at `issuedAt` must be kept: the same calendar day 7 years later. */
export function retainUntilOf(issuedAt: Date): Date {
  const until = new Date(issuedAt.getTime());
  until.setUTCFullYear(until.getUTCFullYear() + BILLING_RECORD_RETENTION_YEARS);
  return until;
}

/** The billing record of an invoice: only what tax law needs (P6); no names, addresses or line descriptions. */
export function billingRecordOf(facts: InvoiceFacts, customerId: string, orgId: string | null): BillingRecord {
  const issuedAt = new Date(facts.issuedAt * 1000);
  return {
    invoiceId: facts.invoiceId,
    invoiceNumber: facts.invoiceNumber,
    customerId,
    orgId,
    currency: facts.currency,
    subtotal: facts.subtotal,
    tax: facts.tax,
    total: facts.total,
    amountDue: facts.amountDue,
    amountPaid: facts.amountPaid,
    status: facts.status,
    issuedAt: Timestamp.fromDate(issuedAt),
    paidAt: facts.paidAt === null ? null : Timestamp.fromMillis(facts.paidAt * 1000),
    retainUntil: Timestamp.fromDate(retainUntilOf(issuedAt)),
  };
}
