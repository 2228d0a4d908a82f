import { z } from 'zod';
import { emailSchema, timestampSchema, uidSchema } from './common';

/** `deletionRequests/{orgId}`: an organization scheduled for purge; the deadline is the promise (P5). */
export const deletionRequestSchema = z.strictObject({
  orgId: z.string().min(1),
  requestedBy: uidSchema,
  requestedAt: timestampSchema,
  /** Until then the owner may cancel. */
  graceEndsAt: timestampSchema,
  /** Everything under the organization is gone by then (at most 30 days after the request). */
  deadline: timestampSchema,
  state: z.enum(['pending', 'purging', 'done', 'cancelled']),
  /** Resume point of an interrupted purge: documents deleted so far. */
  deletedCount: z.number().int().min(0),
});
export type DeletionRequest = z.infer<typeof deletionRequestSchema>;

/** `deletionReceipts/{id}`: what was deleted and when; no personal data. */
export const deletionReceiptSchema = z.strictObject({
  kind: z.enum(['organization', 'account']),
  subjectId: z.string().min(1),
  requestedAt: timestampSchema,
  completedAt: timestampSchema,
  deletedDocuments: z.number().int().min(0),
  collections: z.record(z.string(), z.number().int().min(0)),
});
export type DeletionReceipt = z.infer<typeof deletionReceiptSchema>;

/** `marketingConsents/{uid}`: consent with its time and source (P9). */
export const marketingConsentSchema = z.strictObject({
  email: emailSchema,
  status: z.enum(['opted_in', 'opted_out']),
  source: z.enum(['signup', 'settings', 'unsubscribe_link', 'operator']),
  updatedAt: timestampSchema,
  optedOutAt: timestampSchema.nullable(),
});
export type MarketingConsent = z.infer<typeof marketingConsentSchema>;
