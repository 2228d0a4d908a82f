import { z } from 'zod';
import { emailSchema, timestampSchema } from './common';

/** `users/{uid}`: the person's own profile. No privilege fields: roles live on member documents only. */
export const userProfileSchema = z.strictObject({
  displayName: z.string().trim().min(1).max(100),
  email: emailSchema,
  photoUrl: z.string().url().max(2048).startsWith('https://', 'must be an https URL').optional(),
  locale: z.string().min(2).max(35).optional(),
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});
export type UserProfile = z.infer<typeof userProfileSchema>;
