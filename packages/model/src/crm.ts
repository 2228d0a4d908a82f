import { z } from 'zod';
import { anchored, docIdSchema, emailSchema, labelSchema, patterns, timestampSchema, uidSchema } from './common';

/**
 * The CRM documents clients write. firestore.rules checks the same fields and bounds field by field;
 * test/access proves the two agree. What only the rules can check (the caller, the request time, that a
 * contact exists) is listed on each schema.
 */
export const contactLimits = { name: 200, company: 200, phone: 32, notes: 5000, tags: 20, tag: 50 } as const;
export const contactStatusSchema = z.enum(['lead', 'prospect', 'customer', 'lost']);

/**
 * `orgs/{orgId}/contacts/{contactId}`. Rules also require: on create `createdBy` is the caller and
 * `createdAt` the request time; on update both unchanged; `updatedAt` always the request time.
 */
export const contactSchema = z.strictObject({
  name: z.string().min(1).max(contactLimits.name),
  email: emailSchema.optional(),
  phone: z.string().min(1).max(contactLimits.phone).regex(anchored(patterns.singleLine), 'must be one line').optional(),
  company: z.string().max(contactLimits.company).optional(),
  notes: z.string().max(contactLimits.notes).optional(),
  tags: z.array(labelSchema(contactLimits.tag)).max(contactLimits.tags).optional(),
  status: contactStatusSchema,
  createdBy: uidSchema,
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});
export type Contact = z.infer<typeof contactSchema>;

export const messageLimits = { body: 10_000, subject: 200 } as const;
export const messageChannelSchema = z.enum(['email', 'sms', 'call', 'note']);
export const messageDirectionSchema = z.enum(['outbound', 'inbound']);

/**
 * `orgs/{orgId}/messages/{messageId}`: a record; never updated by clients. Rules also require: `sentBy` is
 * the caller, `sentAt` the request time, and `contactId` names an existing contact of the same organization.
 */
export const messageSchema = z.strictObject({
  contactId: docIdSchema,
  channel: messageChannelSchema,
  direction: messageDirectionSchema,
  subject: z.string().max(messageLimits.subject).optional(),
  body: z.string().min(1).max(messageLimits.body),
  sentBy: uidSchema,
  sentAt: timestampSchema,
});
export type Message = z.infer<typeof messageSchema>;

export const configLimits = { pipelineStages: 20, stage: 50, timezone: 64 } as const;
export const currencySchema = z.enum(['USD', 'EUR', 'GBP', 'CAD', 'AUD']);

/**
 * `orgs/{orgId}/config/{configId}`: account configuration, edited by owners and admins. Rules also require:
 * `updatedBy` is the caller and `updatedAt` the request time.
 */
export const configSchema = z.strictObject({
  pipelineStages: z.array(labelSchema(configLimits.stage)).max(configLimits.pipelineStages).optional(),
  defaultCurrency: currencySchema.optional(),
  timezone: z.string().min(1).max(configLimits.timezone).regex(anchored(patterns.singleLine), 'must be one line').optional(),
  updatedBy: uidSchema,
  updatedAt: timestampSchema,
});
export type Config = z.infer<typeof configSchema>;
