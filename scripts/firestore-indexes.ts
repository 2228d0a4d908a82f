/**
 * The shape of firestore.indexes.json, as `firebase deploy --only firestore:indexes` accepts it (firebase-tools
 * lib/firestore/api.js validateSpec, and the field names of the Firestore Admin API's Index and Field). Unknown
 * keys are refused, so a misspelt option fails here rather than being dropped by the CLI.
 */
import { z } from 'zod';

const queryScope = z.enum(['COLLECTION', 'COLLECTION_GROUP']);
const apiScope = z.enum(['ANY_API', 'DATASTORE_MODE_API', 'MONGODB_COMPATIBLE_API']);
const density = z.enum(['DENSITY_UNSPECIFIED', 'SPARSE_ALL', 'SPARSE_ANY', 'DENSE']);
const order = z.enum(['ASCENDING', 'DESCENDING']);
const arrayConfig = z.literal('CONTAINS');

const indexField = z.union([
  z.strictObject({ fieldPath: z.string().min(1), order }),
  z.strictObject({ fieldPath: z.string().min(1), arrayConfig }),
  z.strictObject({ fieldPath: z.string().min(1), vectorConfig: z.strictObject({ dimension: z.number().int().positive(), flat: z.strictObject({}) }) }),
]);

const compositeIndex = z
  .strictObject({
    collectionGroup: z.string().min(1),
    queryScope,
    apiScope: apiScope.optional(),
    density: density.optional(),
    multikey: z.boolean().optional(),
    fields: z.array(indexField).min(1),
  })
  .refine((index) => index.fields.length >= 2 || index.fields.some((field) => 'vectorConfig' in field), {
    error: 'a composite index needs two fields or more (one field is a single-field index: use fieldOverrides)',
    path: ['fields'],
  });

const fieldOverride = z.strictObject({
  collectionGroup: z.string().min(1),
  fieldPath: z.string().min(1),
  ttl: z.boolean().optional(),
  indexes: z.array(
    z.union([
      z.strictObject({
        order,
        queryScope: queryScope.optional(),
        apiScope: apiScope.optional(),
        density: density.optional(),
        multikey: z.boolean().optional(),
      }),
      z.strictObject({
        arrayConfig,
        queryScope: queryScope.optional(),
        apiScope: apiScope.optional(),
        density: density.optional(),
        multikey: z.boolean().optional(),
      }),
    ]),
  ),
});

export const firestoreIndexesFile = z.strictObject({
  indexes: z.array(compositeIndex),
  // Firestore keeps one configuration per field. The CLI patches both of two entries for one field, in an order set
  // by their contents, skipping one that matches what is deployed: which one wins depends on the project's state.
  fieldOverrides: z
    .array(fieldOverride)
    .superRefine((overrides, context) => {
      const seen = new Map<string, number>();
      overrides.forEach((override, i) => {
        const key = `${override.collectionGroup}.${override.fieldPath}`;
        const first = seen.get(key);
        if (first === undefined) seen.set(key, i);
        else context.addIssue({ code: 'custom', path: [i], message: `${key} is already configured by fieldOverrides[${first}]` });
      });
    })
    .optional(),
});
export type FirestoreIndexesFile = z.infer<typeof firestoreIndexesFile>;
