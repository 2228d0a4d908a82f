import { Timestamp } from 'firebase-admin/firestore';
import { BILLING_RECORD_RETENTION_YEARS, BILLING_RECORD_VERSION, type BillingRecord, type InvoiceFacts, stampedVersion } from '@leadpulse/model';

/** The date until which a record issued at `issuedAt` must be kept: the same calendar day 7 years later. */
export function retainUntilOf(issuedAt: Date): Date {
  const until = new Date(issuedAt.getTime());
  until.setUTCFullYear(until.getUTCFullYear() + BILLING_RECORD_RETENTION_YEARS);
  return until;
}

/**
 * The billing record of an invoice after a fetch made at `fetchedAt` (ms): only what tax law needs (P6), no
 * names, addresses or line descriptions. The invoice's own fields follow the latest fetch (an earlier fetch never
 * replaces a later one, whatever order commits come in); a charge's refunded amount only grows. null when
 * nothing changes. Drafts are not issued invoices and are never recorded.
 */
export function nextBillingRecord(
  existing: BillingRecord | null,
  facts: InvoiceFacts,
  refund: { chargeId: string; amount: number } | null,
  customerId: string,
  orgId: string | null,
  fetchedAt: number,
): BillingRecord | null {
  const factsAreNewer = facts.status !== 'draft' && (existing === null || existing.fetchedAt === undefined || existing.fetchedAt.toMillis() <= fetchedAt);
  const refunds = { ...(existing?.refunds ?? {}) };
  const refundGrows = refund !== null && refund.amount > (refunds[refund.chargeId] ?? 0);
  if (refund !== null && refundGrows) refunds[refund.chargeId] = refund.amount;
  // A record written while its customer was linked to no organization gets the organization once it is known.
  const knownOrgId = orgId ?? existing?.orgId ?? null;
  const linksOrg = existing !== null && existing.orgId === null && knownOrgId !== null;
  if (!factsAreNewer && !refundGrows && !linksOrg) return null;
  if (!factsAreNewer && existing === null) return null;
  const base = factsAreNewer ? billingRecordOf(facts, customerId, knownOrgId, fetchedAt) : { ...(existing as BillingRecord), orgId: knownOrgId };
  // Never lowers the version a newer release stamped (rolling deploy, rollback).
  const schemaVersion = stampedVersion(existing?.schemaVersion, BILLING_RECORD_VERSION);
  const next: BillingRecord = { ...base, schemaVersion, refunds, refundedAmount: Object.values(refunds).reduce((sum, amount) => sum + amount, 0) };
  return existing !== null && sameRecord(existing, next) ? null : next;
}

const seconds = (value: number | null) => (value === null ? null : Timestamp.fromMillis(value * 1000));

function billingRecordOf(facts: InvoiceFacts, customerId: string, orgId: string | null, fetchedAt: number): BillingRecord {
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
    creditedAmount: facts.creditedAmount,
    refunds: {},
    refundedAmount: 0,
    issuedAt: Timestamp.fromDate(issuedAt),
    paidAt: seconds(facts.paidAt),
    voidedAt: seconds(facts.voidedAt),
    markedUncollectibleAt: seconds(facts.markedUncollectibleAt),
    retainUntil: Timestamp.fromDate(retainUntilOf(issuedAt)),
    fetchedAt: Timestamp.fromMillis(fetchedAt),
  };
}

/** Whether two records hold the same facts (the fetch time aside): a write would change nothing. */
function sameRecord(a: BillingRecord, b: BillingRecord): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as Array<keyof BillingRecord>);
  keys.delete('fetchedAt');
  return [...keys].every((key) => sameValue(a[key], b[key]));
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Timestamp || b instanceof Timestamp) return a instanceof Timestamp && b instanceof Timestamp && a.isEqual(b);
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const entries = (value: object) => Object.entries(value).sort(([x], [y]) => x.localeCompare(y));
    return JSON.stringify(entries(a)) === JSON.stringify(entries(b));
  }
  return a === b;
}
