/**
 * Index enforcement, as production's query planner decides it: a query runs only if declared or automatic
 * indexes can serve it; otherwise FAILED_PRECONDITION names the index to add to `firestore.indexes.json`.
 * Google's emulator checks nothing, so this is off unless an index configuration is loaded.
 *
 * The model (Firestore Standard edition, native mode):
 * - every index ends with `__name__`, in the direction of its last ordered field (ascending when none);
 * - single-field indexes: collection scope ascending, descending and array-contains for every field, unless a
 *   `fieldOverrides` entry for the field, for its nearest map ancestor or for `*` replaces them; collection-group
 *   scope only where an override declares it;
 * - a query (each disjunct of an OR) needs indexes whose fields are its equality and array-contains fields, in
 *   any order, followed by its order (explicit orders, then inequality fields, as the query executes), with the
 *   same directions; equality-only queries, with or without an order, may merge several such indexes (zig-zag
 *   merge join); with an inequality or an array-contains, one index must hold every field;
 * - sum() and avg() need the aggregated field in the index, after the order.
 */
import { readFileSync } from 'fs';
import { z } from 'zod';
import type { google } from '@google-cloud/firestore/build/protos/firestore_v1_proto_api';
import { Code, RpcError } from './api';
import type { PreparedQuery } from './query';
import { formatFieldPath, parseFieldPath } from './values';

type Filter = google.firestore.v1.StructuredQuery.IFilter;
type Aggregation = google.firestore.v1.StructuredAggregationQuery.IAggregation;
type Order = 'ASCENDING' | 'DESCENDING';
type Mode = Order | 'CONTAINS';
type QueryScope = 'COLLECTION' | 'COLLECTION_GROUP';

const NAME = '__name__';
/** The `fieldOverrides` path that applies to every field of a collection group without its own override. */
const ALL_FIELDS = '*';

// ---------------------------------------------------------------------------------------------------------
// firestore.indexes.json, as `firebase deploy` validates it (firebase-tools src/firestore/api.ts)

const OrderSchema = z.enum(['ASCENDING', 'DESCENDING']);
const QueryScopeSchema = z.enum(['COLLECTION', 'COLLECTION_GROUP']);
const ApiScopeSchema = z.enum(['ANY_API', 'DATASTORE_MODE_API', 'MONGODB_COMPATIBLE_API']);

function exactlyOneOf(keys: string[]) {
  return (value: Record<string, unknown>, context: z.RefinementCtx): void => {
    if (keys.filter((key) => value[key] !== undefined).length !== 1) {
      context.addIssue({ code: 'custom', message: `must set exactly one of ${keys.join(', ')}` });
    }
  };
}

function fieldPathSchema(allowed: string[]) {
  return z.string().superRefine((path, context) => {
    if (allowed.includes(path)) return;
    try {
      parseFieldPath(path, 'fieldPath');
    } catch (error) {
      context.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
    }
  });
}

const IndexFieldSchema = z
  .object({
    fieldPath: fieldPathSchema([NAME]),
    order: OrderSchema.optional(),
    arrayConfig: z.literal('CONTAINS').optional(),
    vectorConfig: z.record(z.string(), z.unknown()).optional(),
    searchConfig: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine(exactlyOneOf(['order', 'arrayConfig', 'vectorConfig', 'searchConfig']));

const CompositeIndexSchema = z
  .object({
    collectionGroup: z.string().min(1),
    queryScope: QueryScopeSchema,
    apiScope: ApiScopeSchema.optional(),
    fields: z.array(IndexFieldSchema).min(1),
  })
  .superRefine((index, context) => {
    // Production refuses these as "not necessary": the only one-field composite is `__name__` alone.
    if (index.fields.length === 1 && index.fields[0].fieldPath !== NAME) {
      context.addIssue({
        code: 'custom',
        path: ['fields'],
        message: 'a composite index needs two fields or more (one field is a single-field index: use "fieldOverrides")',
      });
    }
  });

const FieldIndexSchema = z
  .object({
    queryScope: QueryScopeSchema.default('COLLECTION'),
    order: OrderSchema.optional(),
    arrayConfig: z.literal('CONTAINS').optional(),
    apiScope: ApiScopeSchema.optional(),
  })
  .superRefine(exactlyOneOf(['order', 'arrayConfig']));

const FieldOverrideSchema = z.object({
  collectionGroup: z.string().min(1),
  fieldPath: fieldPathSchema([ALL_FIELDS]),
  /** A TTL policy on this field: documents of the group are deleted once its timestamp has passed. */
  ttl: z.boolean().optional(),
  indexes: z.array(FieldIndexSchema),
});

export const IndexFileSchema = z.object({
  indexes: z.array(CompositeIndexSchema),
  fieldOverrides: z.array(FieldOverrideSchema).default([]),
});

/** The contents of a `firestore.indexes.json`. */
export type IndexFile = z.input<typeof IndexFileSchema>;
type CompositeIndexDeclaration = z.output<typeof CompositeIndexSchema>;

// ---------------------------------------------------------------------------------------------------------
// Indexes as the planner sees them

interface IndexField {
  /** Canonical field path (`formatFieldPath`). */
  path: string;
  mode: Mode;
}

/** A declared index, as a developer reads it in the index file. */
export interface DeclaredIndex {
  /** `indexes[2]` or `fieldOverrides[0].indexes[3]`. */
  location: string;
  /** The entry as JSON, with the collection group and field path it belongs to. */
  description: string;
}

interface ServingIndex {
  /** The fields before the implicit `__name__`. */
  fields: IndexField[];
  nameDescending: boolean;
  /** null for an automatic index. */
  declared: DeclaredIndex | null;
}

interface SingleFieldEntry {
  scope: QueryScope;
  mode: Mode;
  /** False for an index of another API scope: it serves no Firestore query. */
  servesQueries: boolean;
  /** The entry as the file states it. */
  json: Record<string, string>;
  declared: DeclaredIndex;
}

/** A `fieldOverrides` entry with `"ttl": true`: documents of every collection named `collectionGroup` expire
 *  once the timestamp at `fieldPath` has passed. */
export interface TtlPolicy {
  collectionGroup: string;
  /** Canonical field path (`formatFieldPath`). */
  fieldPath: string;
  /** The field path's segments. */
  segments: string[];
}

/** A `fieldOverrides` entry: the single-field indexes of its field, in place of the automatic ones. */
interface Override {
  entries: SingleFieldEntry[];
  /** Its index in the file's `fieldOverrides`, for messages. */
  position: number;
}

function canonicalPath(path: string): string {
  return path === NAME || path === ALL_FIELDS ? path : formatFieldPath(parseFieldPath(path, 'fieldPath'));
}

/** The direction `__name__` takes at the end of an index: that of the last ordered field. */
function nameDescendingAfter(fields: readonly IndexField[]): boolean {
  for (let i = fields.length - 1; i >= 0; i--) {
    if (fields[i].mode !== 'CONTAINS') return fields[i].mode === 'DESCENDING';
  }
  return false;
}

function scopeKey(collectionGroup: string, scope: QueryScope): string {
  return `${scope}\u0000${collectionGroup}`;
}

function overrideKey(collectionGroup: string, fieldPath: string): string {
  return `${collectionGroup}\u0000${fieldPath}`;
}

// ---------------------------------------------------------------------------------------------------------
// Queries as the planner sees them

type ConstraintKind = 'equality' | 'contains' | 'range';

interface Constraint {
  path: string;
  kind: ConstraintKind;
}

/** Operators served like an equality or an array-contains; every other one is a range (an inequality). */
const CONSTRAINT_OF_OPERATOR = new Map<string, ConstraintKind>([
  ['EQUAL', 'equality'],
  ['IN', 'equality'],
  ['IS_NULL', 'equality'],
  ['IS_NAN', 'equality'],
  ['ARRAY_CONTAINS', 'contains'],
  ['ARRAY_CONTAINS_ANY', 'contains'],
]);

/** The filter in disjunctive normal form: each disjunct is the list of constraints one index scan must serve. */
function disjuncts(filter: Filter | null | undefined): Constraint[][] {
  if (!filter) return [[]];
  if (filter.compositeFilter) {
    const parts = (filter.compositeFilter.filters ?? []).map(disjuncts);
    if (filter.compositeFilter.op === 'OR') return parts.flat();
    return parts.reduce<Constraint[][]>((product, part) => product.flatMap((left) => part.map((right) => [...left, ...right])), [[]]);
  }
  const leaf = filter.fieldFilter ?? filter.unaryFilter;
  const fieldPath = leaf?.field?.fieldPath;
  // Filters on the document name are served by the name every index ends with.
  if (!leaf || !fieldPath || fieldPath === NAME) return [[]];
  const kind = CONSTRAINT_OF_OPERATOR.get(String(leaf.op)) ?? 'range';
  return [[{ path: canonicalPath(fieldPath), kind }]];
}

function modeName(mode: Mode): string {
  return mode === 'CONTAINS' ? 'ARRAY_CONTAINS' : mode === 'ASCENDING' ? 'ASC' : 'DESC';
}

function fieldJson(field: IndexField): Record<string, string> {
  return field.mode === 'CONTAINS' ? { fieldPath: field.path, arrayConfig: 'CONTAINS' } : { fieldPath: field.path, order: field.mode };
}

function fieldIndexJson(scope: QueryScope, mode: Mode): Record<string, string> {
  return mode === 'CONTAINS' ? { arrayConfig: 'CONTAINS', queryScope: scope } : { order: mode, queryScope: scope };
}

/** An index file that `firebase deploy` would refuse; the message names the file and the entry. */
export class IndexFileError extends Error {
  override readonly name = 'IndexFileError';
}

function failedPrecondition(message: string): RpcError {
  return new RpcError(Code.FAILED_PRECONDITION, message);
}

// ---------------------------------------------------------------------------------------------------------
// The configuration

export class IndexConfiguration {
  private readonly composites = new Map<string, ServingIndex[]>();
  private readonly overrides = new Map<string, Override>();
  /** Declared indexes that add to the automatic ones, and whether a query has used them. */
  private readonly additions = new Map<DeclaredIndex, boolean>();
  /** The `"ttl": true` overrides, in file order. */
  readonly ttlPolicies: readonly TtlPolicy[];

  /** `source` names the file in error messages. Throws naming the first invalid entry. */
  constructor(
    file: unknown,
    readonly source = 'firestore.indexes.json',
  ) {
    const parsed = IndexFileSchema.safeParse(file);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('');
      throw new IndexFileError(`${source}: ${where.replace(/^\./, '') || '(file)'}: ${issue.message}`);
    }
    parsed.data.indexes.forEach((index, i) => this.addComposite(index, `indexes[${i}]`));
    const ttlPolicies: TtlPolicy[] = [];
    parsed.data.fieldOverrides.forEach((override, i) => {
      if (!override.ttl) return;
      // Production: a TTL field is one document field (no wildcard), and a collection group has one TTL policy.
      if (override.fieldPath === ALL_FIELDS) {
        throw new IndexFileError(`${source}: fieldOverrides[${i}]: a TTL policy needs a field path, not "*"`);
      }
      const other = ttlPolicies.find((policy) => policy.collectionGroup === override.collectionGroup);
      if (other) {
        throw new IndexFileError(
          `${source}: fieldOverrides[${i}]: collection group "${override.collectionGroup}" already has a TTL policy (on ${other.fieldPath}); only one is allowed`,
        );
      }
      const segments = [...parseFieldPath(override.fieldPath, 'fieldPath')];
      ttlPolicies.push({ collectionGroup: override.collectionGroup, fieldPath: formatFieldPath(segments), segments });
    });
    this.ttlPolicies = ttlPolicies;
    parsed.data.fieldOverrides.forEach((override, i) => {
      const fieldPath = canonicalPath(override.fieldPath);
      const entries = override.indexes.map((entry, j): SingleFieldEntry => {
        const mode: Mode = entry.arrayConfig ? 'CONTAINS' : (entry.order ?? 'ASCENDING');
        const json = { ...fieldIndexJson(entry.queryScope, mode), ...(entry.apiScope ? { apiScope: entry.apiScope } : {}) };
        const declared = { location: `fieldOverrides[${i}].indexes[${j}]`, description: `${override.collectionGroup}.${fieldPath} ${JSON.stringify(json)}` };
        const servesQueries = (entry.apiScope ?? 'ANY_API') === 'ANY_API';
        // Collection-scope entries restate what an override replaced; only collection-group ones add an index.
        if (servesQueries && entry.queryScope === 'COLLECTION_GROUP') this.additions.set(declared, false);
        return { scope: entry.queryScope, mode, servesQueries, json, declared };
      });
      // Production keeps one configuration per field. Of two entries for one field, the CLI patches both in an
      // order set by their contents (firebase-tools sorts overrides, shorter index lists first) and skips one that
      // matches what is deployed, so which one wins depends on the project's state: refused here.
      const key = overrideKey(override.collectionGroup, fieldPath);
      const first = this.overrides.get(key);
      if (first) {
        throw new IndexFileError(
          `${source}: fieldOverrides[${i}]: ${override.collectionGroup}.${fieldPath} is already configured by fieldOverrides[${first.position}]`,
        );
      }
      this.overrides.set(key, { entries, position: i });
    });
  }

  static fromFile(file: string): IndexConfiguration {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new IndexFileError(`${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
    return new IndexConfiguration(json, file);
  }

  private addComposite(index: CompositeIndexDeclaration, location: string): void {
    // Vector and search indexes serve only vector and text search, which the emulator does not run; indexes of
    // another API scope serve only that API.
    if ((index.apiScope ?? 'ANY_API') !== 'ANY_API') return;
    if (index.fields.some((field) => field.vectorConfig !== undefined || field.searchConfig !== undefined)) return;
    const fields: IndexField[] = index.fields.map((field) => ({
      path: canonicalPath(field.fieldPath),
      mode: field.arrayConfig ? 'CONTAINS' : (field.order ?? 'ASCENDING'),
    }));
    const last = fields[fields.length - 1];
    const explicitName = last.path === NAME ? fields.pop() : undefined;
    const declared = {
      location,
      description: JSON.stringify({ collectionGroup: index.collectionGroup, queryScope: index.queryScope, fields: index.fields }),
    };
    this.additions.set(declared, false);
    const serving: ServingIndex = {
      fields,
      nameDescending: explicitName ? explicitName.mode === 'DESCENDING' : nameDescendingAfter(fields),
      declared,
    };
    const key = scopeKey(index.collectionGroup, index.queryScope);
    this.composites.set(key, [...(this.composites.get(key) ?? []), serving]);
  }

  /** Declared composite and collection-group indexes that no query has used since this configuration loaded. */
  unusedIndexes(): DeclaredIndex[] {
    return [...this.additions].filter(([, used]) => !used).map(([declared]) => declared);
  }

  /**
   * Throws FAILED_PRECONDITION, naming the index to add, unless the indexes can serve the query; records the
   * declared indexes that serve it; sum() and avg() of `aggregations` need their field indexed too.
   */
  check(query: PreparedQuery, aggregations: readonly Aggregation[] = []): void {
    const aggregatedFields = aggregations.flatMap((aggregation) => {
      const fieldPath = (aggregation.sum ?? aggregation.avg)?.field?.fieldPath;
      return fieldPath ? [fieldPath] : [];
    });
    // Production serves findNearest only from a declared vector index, which this model does not cover: refusing
    // is stricter than guessing.
    if (query.nearest) {
      throw new RpcError(Code.UNIMPLEMENTED, 'Index enforcement for vector search (vector indexes) is not implemented by the offline emulator.');
    }
    // Kindless queries (every document below a parent) can only filter and order on __name__: the primary index.
    if (query.collectionId === null) return;
    const collectionGroup = query.collectionId;
    const scope: QueryScope = query.allDescendants ? 'COLLECTION_GROUP' : 'COLLECTION';

    const order: IndexField[] = [];
    let nameDescending = false;
    for (const field of query.orderBy) {
      if (field.path === null) {
        nameDescending = field.descending;
        break;
      }
      order.push({ path: formatFieldPath(field.path), mode: field.descending ? 'DESCENDING' : 'ASCENDING' });
    }
    const plans: ServingIndex[][] = [];
    for (const constraints of disjuncts(query.source.where)) {
      const needed = requiredFields(constraints, order, aggregatedFields);
      const plan = this.plan(collectionGroup, scope, needed, constraints, nameDescending);
      if (plan === null) throw this.missingIndex(collectionGroup, scope, needed, nameDescending);
      plans.push(plan);
    }
    for (const plan of plans) {
      for (const index of plan) if (index.declared && this.additions.has(index.declared)) this.additions.set(index.declared, true);
    }
  }

  /** The indexes that serve one disjunct, or null when none can. */
  private plan(
    collectionGroup: string,
    scope: QueryScope,
    needed: RequiredFields,
    constraints: readonly Constraint[],
    nameDescending: boolean,
  ): ServingIndex[] | null {
    const candidates = this.candidates(collectionGroup, scope, needed).filter((index) => index.nameDescending === nameDescending && servesPart(index, needed));
    const whole = candidates.find((index) => index.fields.length - needed.order.length === needed.prefix.length);
    if (whole) return [whole];
    if (needed.prefix.length === 0) return null;
    // Zig-zag merge join: only for equality filters (with or without an order), as documented.
    const mergeable = constraints.every((constraint) => constraint.kind === 'equality');
    if (!mergeable) return null;
    const uncovered = new Set(needed.prefix.map((field) => field.path));
    const chosen: ServingIndex[] = [];
    while (uncovered.size > 0) {
      let best: ServingIndex | null = null;
      let bestCount = 0;
      for (const index of candidates) {
        const count = index.fields.filter((field) => uncovered.has(field.path)).length;
        if (count > bestCount) [best, bestCount] = [index, count];
      }
      if (best === null) return null;
      for (const field of best.fields) uncovered.delete(field.path);
      chosen.push(best);
    }
    return chosen;
  }

  /** Declared composites of the scope, and the single-field indexes (automatic or overridden) of the fields. */
  private candidates(collectionGroup: string, scope: QueryScope, needed: RequiredFields): ServingIndex[] {
    const candidates = [...(this.composites.get(scopeKey(collectionGroup, scope)) ?? [])];
    // The primary index: every document by name, ascending; descending too within a collection.
    candidates.push({ fields: [], nameDescending: false, declared: null });
    if (scope === 'COLLECTION') candidates.push({ fields: [], nameDescending: true, declared: null });
    const paths = new Set([...needed.prefix, ...needed.order].map((field) => field.path));
    for (const path of paths) {
      for (const entry of this.singleFieldEntries(collectionGroup, path)) {
        if (entry.scope !== scope || !entry.servesQueries) continue;
        candidates.push({ fields: [{ path, mode: entry.mode }], nameDescending: entry.mode === 'DESCENDING', declared: entry.declared });
      }
    }
    return candidates;
  }

  /** The single-field indexes of a field: its own override, its nearest overridden map ancestor's, `*`'s, or the automatic ones. */
  private singleFieldEntries(
    collectionGroup: string,
    path: string,
  ): { scope: QueryScope; mode: Mode; servesQueries: boolean; declared: DeclaredIndex | null }[] {
    const override = this.overrideOf(collectionGroup, path);
    if (override) return override.entries;
    return (['ASCENDING', 'DESCENDING', 'CONTAINS'] as const).map((mode) => ({ scope: 'COLLECTION', mode, servesQueries: true, declared: null }));
  }

  private overrideOf(collectionGroup: string, path: string): Override | undefined {
    const segments = parseFieldPath(path, 'fieldPath');
    for (let length = segments.length; length > 0; length--) {
      const override = this.overrides.get(overrideKey(collectionGroup, formatFieldPath(segments.slice(0, length))));
      if (override) return override;
    }
    return this.overrides.get(overrideKey(collectionGroup, ALL_FIELDS));
  }

  /** The error for a disjunct no index serves, naming the one index (or field override) that would. */
  private missingIndex(collectionGroup: string, scope: QueryScope, needed: RequiredFields, nameDescending: boolean): RpcError {
    const fields = [...needed.prefix, ...needed.order];
    if (fields.length === 1 && nameDescendingAfter(fields) === nameDescending) {
      const [field] = fields;
      const existing = this.overrideOf(collectionGroup, field.path);
      const kept = existing
        ? existing.entries.map((entry) => entry.json)
        : (['ASCENDING', 'DESCENDING', 'CONTAINS'] as const).map((mode) => fieldIndexJson('COLLECTION', mode));
      const override = {
        collectionGroup,
        fieldPath: field.path,
        indexes: [...kept, fieldIndexJson(scope, field.mode)],
      };
      const kind = `${scope === 'COLLECTION_GROUP' ? 'COLLECTION_GROUP_' : ''}${modeName(field.mode)}`;
      return failedPrecondition(
        `The query requires ${/^[AEIOU]/.test(kind) ? 'an' : 'a'} ${kind} index for collection ${collectionGroup} and field ${field.path}. ` +
          `Add this entry to "fieldOverrides" in ${this.source} (it replaces the automatic indexes of the field, ` +
          `so it lists them too): ${JSON.stringify(override)}`,
      );
    }
    const indexFields = fields.map(fieldJson);
    if (fields.length === 0 || nameDescendingAfter(fields) !== nameDescending) {
      indexFields.push({ fieldPath: NAME, order: nameDescending ? 'DESCENDING' : 'ASCENDING' });
    }
    const index = { collectionGroup, queryScope: scope, fields: indexFields };
    return failedPrecondition(`The query requires an index. Add this entry to "indexes" in ${this.source}: ${JSON.stringify(index)}`);
  }
}

interface RequiredFields {
  /** Equality and array-contains fields, in filter order: any order in an index, before `order`. */
  prefix: IndexField[];
  /** The query's order (explicit, then inequality fields), then aggregated fields, before `__name__`. */
  order: IndexField[];
}

function requiredFields(constraints: readonly Constraint[], order: readonly IndexField[], aggregatedFields: readonly string[]): RequiredFields {
  const ordered = new Set(order.map((field) => field.path));
  const prefix: IndexField[] = [];
  const seen = new Set<string>();
  for (const constraint of constraints) {
    if (constraint.kind === 'range') continue;
    // An equality on an ordered field is served where the order puts the field.
    if (constraint.kind === 'equality' && ordered.has(constraint.path)) continue;
    const mode: Mode = constraint.kind === 'contains' ? 'CONTAINS' : 'ASCENDING';
    const key = `${mode}\u0000${constraint.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    prefix.push({ path: constraint.path, mode });
  }
  const inPrefix = new Set(prefix.map((field) => field.path));
  const withAggregates = [...order];
  for (const fieldPath of aggregatedFields) {
    const path = canonicalPath(fieldPath);
    if (ordered.has(path) || inPrefix.has(path)) continue;
    ordered.add(path);
    withAggregates.push({ path, mode: 'ASCENDING' });
  }
  return { prefix, order: withAggregates };
}

/** Whether an index is some of the prefix fields (equality: either direction) followed by exactly the order. */
function servesPart(index: ServingIndex, needed: RequiredFields): boolean {
  const prefixLength = index.fields.length - needed.order.length;
  if (prefixLength < 0) return false;
  for (let i = 0; i < needed.order.length; i++) {
    const field = index.fields[prefixLength + i];
    if (field.path !== needed.order[i].path || field.mode !== needed.order[i].mode) return false;
  }
  const used = new Set<string>();
  for (const field of index.fields.slice(0, prefixLength)) {
    if (used.has(field.path)) return false;
    used.add(field.path);
    const match = needed.prefix.find((wanted) => wanted.path === field.path);
    if (!match || (match.mode === 'CONTAINS') !== (field.mode === 'CONTAINS')) return false;
  }
  return true;
}
