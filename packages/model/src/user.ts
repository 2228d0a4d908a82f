import { z } from 'zod';
import { anchored, displayNameSchema, emailSchema, httpsUrlSchema, patterns, timestampSchema } from './common';

export const userProfileLimits = { displayName: 100, locale: 35 } as const;

/**
 * `users/{uid}`: the person's own profile, which only they write (firestore.rules checks the same fields).
 * No privilege fields: roles live on member documents only, and the rules reject any field not listed here.
 */
export const userProfileSchema = z.strictObject({
  displayName: displayNameSchema(userProfileLimits.displayName),
  email: emailSchema,
  photoUrl: httpsUrlSchema.optional(),
  locale: z.string().min(2).max(userProfileLimits.locale).regex(anchored(patterns.locale), 'must be a language tag such as en or pt-BR').optional(),
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});
export type UserProfile = z.infer<typeof userProfileSchema>;
