import { z } from 'zod';
import { emailSchema, timestampSchema, uidSchema, docIdSchema } from './common';

/**
 * The CRM documents clients write. firestore.rules checks the same fields and bounds field by field;
 * test/access proves the two agree.
 */
export const contactLimits = { name: 200, company: 200, phone: 32, notes: 5000, tags: 20, tag: 50 } as const;
export const contactStatusSchema = z.enum(['lead', 'prospect', 'customer', 'lost']);

/** `orgs/{orgId}/contacts/{contactId}` */
export const contactSchema = z.strictObject({
  name: z.string().min(1).max(contactLimits.name),
  email: emailSchema.optional(),
  phone: z.string().min(1).max(contactLimits.phone).optional(),
  company: z.string().max(contactLimits.company).optional(),
  notes: z.string().max(contactLimits.notes).optional(),
  tags: z.array(z.string().min(1).max(contactLimits.tag)).max(contactLimits.tags).optional(),
  status: contactStatusSchema,
  createdBy: uidSchema,
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});
export type Contact = z.infer<typeof contactSchema>;

export const messageLimits = { body: 10_000, subject: 200 } as const;

/** `orgs/{orgId}/messages/{messageId}`: a record; never updated by clients. */
export const messageSchema = z.strictObject({
  contactId: docIdSchema,
  channel: z.enum(['email', 'sms', 'call', 'note']),
  direction: z.enum(['outbound', 'inbound']),
  subject: z.string().max(messageLimits.subject).optional(),
  body: z.string().min(1).max(messageLimits.body),
  sentBy: uidSchema,
  sentAt: timestampSchema,
});
export type Message = z.infer<typeof messageSchema>;

export const configLimits = { pipelineStages: 20, stage: 50, timezone: 64 } as const;

/** `orgs/{orgId}/config/{configId}`: account configuration, edited by owners and admins. */
export const configSchema = z.strictObject({
  pipelineStages: z.array(z.string().min(1).max(configLimits.stage)).max(configLimits.pipelineStages).optional(),
  defaultCurrency: z.enum(['USD', 'EUR', 'GBP', 'CAD', 'AUD']).optional(),
  timezone: z.string().min(1).max(configLimits.timezone).optional(),
  updatedBy: uidSchema,
  updatedAt: timestampSchema,
});
export type Config = z.infer<typeof configSchema>;
