/**
 * Structured queries: validation into a prepared form, and execution against a store at one read time.
 * Semantics follow Firestore: filters match only values of the filter value's type class, != and not-in
 * exclude missing fields and nulls, orderBy excludes documents missing an ordered field, inequality fields
 * are implicitly ordered (lexicographically) after the explicit orders, and `__name__` always ends the order.
 */
import type { google } from '@google-cloud/firestore/build/protos/firestore_v1_proto_api';
import { Code, RpcError, StructuredQuery, ValidDocument, ValidValue } from './api';
import { compareSegments, comparePaths, NameParser } from './paths';
import type { DocEntry, Store } from './store';
import type { Micros } from './time';
import {
  compareValues,
  fieldPathIsPrefix,
  formatFieldPath,
  getField,
  isNaNValue,
  isNullValue,
  isNumber,
  isVector,
  normalizeValue,
  numberAsDouble,
  parseFieldPath,
  projectFields,
  setField,
  typeOrder,
  valuesEqual,
  vectorElements,
} from './values';

type Filter = google.firestore.v1.StructuredQuery.IFilter;

/** `__name__` as a field path. */
const NAME = '__name__';

export interface OrderField {
  /** null for `__name__`. */
  path: string[] | null;
  descending: boolean;
}

interface PreparedCursor {
  values: ValidValue[];
  before: boolean;
}

type Predicate = (doc: ValidDocument, entry: DocEntry) => boolean;

export interface PreparedQuery {
  parent: string[];
  parentName: string;
  /** null for a kindless query (every document below the parent). */
  collectionId: string | null;
  allDescendants: boolean;
  predicate: Predicate | null;
  orderBy: OrderField[];
  startAt: PreparedCursor | null;
  endAt: PreparedCursor | null;
  offset: number;
  limit: number | null;
  /** null: all fields; otherwise the selected field paths (empty for `__name__` only). */
  projection: string[][] | null;
  /** Bounds on `__name__` implied by top-level filters, used to start and stop name-ordered scans. */
  nameLow: { segments: string[]; inclusive: boolean } | null;
  nameHigh: { segments: string[]; inclusive: boolean } | null;
  /** Vector search: when set, it ranks the matching documents and replaces the orders and the window. */
  nearest: PreparedNearest | null;
  /** The request as sent, for the access policy. */
  source: StructuredQuery;
}

type DistanceMeasure = 'EUCLIDEAN' | 'COSINE' | 'DOT_PRODUCT';

export interface PreparedNearest {
  vectorField: string[];
  queryVector: number[];
  measure: DistanceMeasure;
  limit: number;
  /** Field path the distance is returned in, if asked for. */
  resultField: string[] | null;
  threshold: number | null;
}

function invalid(message: string): RpcError {
  return new RpcError(Code.INVALID_ARGUMENT, message);
}

function unimplemented(feature: string): RpcError {
  return new RpcError(Code.UNIMPLEMENTED, `The offline Firestore emulator does not implement ${feature}.`);
}

const INEQUALITY_OPERATORS = new Set(['LESS_THAN', 'LESS_THAN_OR_EQUAL', 'GREATER_THAN', 'GREATER_THAN_OR_EQUAL', 'NOT_EQUAL', 'NOT_IN']);
const MAX_DISJUNCTION_VALUES = 30;
const MAX_NOT_IN_VALUES = 10;

/** Validates a structured query under `parentName` and prepares it for execution. */
export function prepareQuery(parentName: string, query: StructuredQuery | null | undefined, names: NameParser): PreparedQuery {
  if (!query) throw invalid('Missing structured_query.');
  const parent = names.parent(parentName);
  const known = new Set(['select', 'from', 'where', 'orderBy', 'startAt', 'endAt', 'offset', 'limit', 'findNearest']);
  for (const key of Object.keys(query)) {
    if (!known.has(key) && (query as Record<string, unknown>)[key] !== undefined) {
      throw unimplemented(`the structured query field "${key}"`);
    }
  }

  const from = query.from ?? [];
  if (from.length !== 1) throw invalid(`A query must have exactly one collection selector in "from", got ${from.length}.`);
  const selector = from[0];
  const allDescendants = Boolean(selector.allDescendants);
  const collectionId = selector.collectionId ? selector.collectionId : null;
  if (collectionId === null && !allDescendants) {
    throw invalid("A query's collection selector needs a collection_id unless all_descendants is set.");
  }
  if (collectionId !== null && (collectionId.includes('/') || collectionId === '.' || collectionId === '..')) {
    throw invalid(`Invalid collection id "${collectionId}".`);
  }

  const inequalityFields = new Map<string, string[]>();
  const context: FilterContext = { names, inequalityFields, nameLow: null, nameHigh: null, nameEquality: false };
  const predicate = query.where ? compileFilter(query.where, context, true) : null;
  const fieldInequalities = [...inequalityFields.keys()].filter((key) => key !== NAME);
  if (context.nameEquality && fieldInequalities.length > 0) {
    // Production refuses it (an equality on the key leaves nothing for the inequality's ordering to do).
    throw invalid(
      `Equality on key is not allowed if there are other inequality fields and key does not appear in inequalities ` +
        `(inequality on "${fieldInequalities[0]}").`,
    );
  }

  const orderBy: OrderField[] = [];
  const ordered = new Set<string>();
  for (const order of query.orderBy ?? []) {
    const fieldPath = order.field?.fieldPath;
    const path = fieldPath === NAME ? null : parseFieldPath(fieldPath, 'order_by');
    const key = path === null ? NAME : formatFieldPath(path);
    if (ordered.has(key)) throw invalid(`order_by contains the field "${key}" more than once.`);
    ordered.add(key);
    const direction = order.direction ?? 'ASCENDING';
    if (direction !== 'ASCENDING' && direction !== 'DESCENDING') {
      throw invalid(`order_by "${key}" has an invalid direction ${String(direction)}.`);
    }
    orderBy.push({ path, descending: direction === 'DESCENDING' });
  }
  const nameOrder = orderBy.findIndex((order) => order.path === null);
  if (inequalityFields.size > 0 && nameOrder >= 0 && nameOrder < orderBy.length - 1) {
    throw invalid('order by clause cannot contain more fields after the key __name__.');
  }
  const lastDescending = orderBy.length > 0 ? orderBy[orderBy.length - 1].descending : false;
  const implicit = [...inequalityFields.entries()].filter(([key]) => !ordered.has(key) && key !== NAME);
  implicit.sort(([, a], [, b]) => compareFieldPaths(a, b));
  for (const [key, path] of implicit) {
    ordered.add(key);
    orderBy.push({ path, descending: lastDescending });
  }
  if (!ordered.has(NAME)) orderBy.push({ path: null, descending: lastDescending });

  const startAt = prepareCursor(query.startAt, orderBy, names, 'start_at');
  const endAt = prepareCursor(query.endAt, orderBy, names, 'end_at');

  const offset = query.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) throw invalid(`offset must be a non-negative integer, got ${offset}.`);
  let limit: number | null = null;
  if (query.limit) {
    const value = query.limit.value ?? 0;
    if (!Number.isInteger(value) || value < 0) throw invalid(`limit must be a non-negative integer, got ${value}.`);
    limit = value;
  }

  let projection: string[][] | null = null;
  if (query.select) {
    const fields = query.select.fields ?? [];
    if (fields.length > 0) {
      projection = [];
      for (const field of fields) {
        if (field.fieldPath === NAME) continue;
        projection.push(parseFieldPath(field.fieldPath, 'select'));
      }
    }
  }

  return {
    parent,
    parentName: names.name(parent),
    collectionId,
    allDescendants,
    predicate,
    orderBy,
    startAt,
    endAt,
    offset,
    limit,
    projection,
    nameLow: context.nameLow,
    nameHigh: context.nameHigh,
    nearest: query.findNearest ? prepareNearest(query, query.findNearest, names) : null,
    source: query,
  };
}

const MAX_NEAREST_LIMIT = 1000;
const MAX_VECTOR_DIMENSIONS = 2048;
const DISTANCE_MEASURES: readonly string[] = ['EUCLIDEAN', 'COSINE', 'DOT_PRODUCT'];

type FindNearest = google.firestore.v1.StructuredQuery.IFindNearest;
const FIND_NEAREST_FIELDS = ['vectorField', 'queryVector', 'distanceMeasure', 'limit', 'distanceResultField', 'distanceThreshold'];

function prepareNearest(query: StructuredQuery, nearest: FindNearest, names: NameParser): PreparedNearest {
  checkKnownFields(nearest, FIND_NEAREST_FIELDS, 'find_nearest');
  // Production ranks by distance alone and supports no cursors; a window around the ranking is refused here
  // rather than given a meaning the reference does not state.
  for (const key of ['startAt', 'endAt', 'offset', 'limit'] as const) {
    if (query[key]) throw invalid(`find_nearest cannot be combined with ${key === 'startAt' || key === 'endAt' ? 'cursors' : key}.`);
  }
  const vectorField = parseFieldPath(nearest.vectorField?.fieldPath, 'find_nearest.vector_field');
  if (!nearest.queryVector) throw invalid('find_nearest.query_vector is required.');
  const vector = normalizeValue(nearest.queryVector, 'find_nearest.query_vector', names);
  if (!isVector(vector)) throw invalid('find_nearest.query_vector must be a vector value.');
  const elements = vectorElements(vector);
  if (elements.length === 0 || elements.length > MAX_VECTOR_DIMENSIONS) {
    throw invalid(`find_nearest.query_vector must have 1 to ${MAX_VECTOR_DIMENSIONS} dimensions, got ${elements.length}.`);
  }
  if (!elements.every(isNumber)) {
    throw invalid('find_nearest.query_vector must hold only numbers.');
  }
  const measure = nearest.distanceMeasure as string | null | undefined;
  if (!measure || !DISTANCE_MEASURES.includes(measure)) {
    throw invalid(`find_nearest.distance_measure must be one of ${DISTANCE_MEASURES.join(', ')}, got ${String(measure)}.`);
  }
  const limit = nearest.limit?.value ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_NEAREST_LIMIT) {
    throw invalid(`find_nearest.limit must be a positive integer of no more than ${MAX_NEAREST_LIMIT}, got ${limit}.`);
  }
  const threshold = nearest.distanceThreshold ? (nearest.distanceThreshold.value ?? 0) : null;
  if (threshold !== null && Number.isNaN(threshold)) throw invalid('find_nearest.distance_threshold must be a number.');
  return {
    vectorField,
    queryVector: elements.map(numberAsDouble),
    measure: measure as DistanceMeasure,
    limit,
    resultField: nearest.distanceResultField ? parseFieldPath(nearest.distanceResultField, 'find_nearest.distance_result_field') : null,
    threshold,
  };
}

function checkKnownFields(message: object, known: string[], what: string): void {
  for (const key of Object.keys(message)) {
    if (!known.includes(key) && (message as Record<string, unknown>)[key] !== undefined) {
      throw unimplemented(`the ${what} field "${key}"`);
    }
  }
}

function compareFieldPaths(a: readonly string[], b: readonly string[]): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const order = compareSegments(a[i], b[i]);
    if (order !== 0) return order;
  }
  return a.length - b.length;
}

function prepareCursor(cursor: google.firestore.v1.ICursor | null | undefined, orderBy: OrderField[], names: NameParser, what: string): PreparedCursor | null {
  if (!cursor) return null;
  const values = cursor.values ?? [];
  if (values.length === 0) return null;
  if (values.length > orderBy.length) {
    throw invalid(`${what} has ${values.length} values but the query orders by only ${orderBy.length} fields.`);
  }
  const prepared = values.map((value, i): ValidValue => {
    const normalized = normalizeValue(value, `${what}[${i}]`, names, { forQuery: true });
    if (orderBy[i].path === null && (normalized.referenceValue === undefined || names.referenceSegments(normalized.referenceValue, true) === null)) {
      throw invalid(`${what} value ${i} orders by __name__ and must be a document reference.`);
    }
    return normalized;
  });
  return { values: prepared, before: Boolean(cursor.before) };
}

// ---------------------------------------------------------------------------------------------------------
// Filters

interface FilterContext {
  names: NameParser;
  inequalityFields: Map<string, string[]>;
  nameLow: PreparedQuery['nameLow'];
  nameHigh: PreparedQuery['nameHigh'];
  /** A top-level `__name__ ==` filter. */
  nameEquality: boolean;
}

const ONE_FILTER = 'A filter must set exactly one of composite_filter, field_filter, unary_filter.';

function compileFilter(filter: Filter, context: FilterContext, topLevelAnd: boolean): Predicate {
  const { compositeFilter, fieldFilter, unaryFilter } = filter;
  if ([compositeFilter, fieldFilter, unaryFilter].filter((part) => part).length > 1) throw invalid(ONE_FILTER);
  if (compositeFilter) {
    const op = compositeFilter.op;
    const parts = compositeFilter.filters ?? [];
    if (op !== 'AND' && op !== 'OR') throw invalid(`Composite filter operator ${String(op)} is not valid (AND or OR).`);
    if (parts.length === 0) throw invalid('A composite filter must contain at least one filter.');
    const predicates = parts.map((part) => compileFilter(part, context, topLevelAnd && op === 'AND'));
    if (predicates.length === 1) return predicates[0];
    return op === 'AND'
      ? (doc, entry) => predicates.every((predicate) => predicate(doc, entry))
      : (doc, entry) => predicates.some((predicate) => predicate(doc, entry));
  }
  if (unaryFilter) return compileUnary(unaryFilter, context);
  if (fieldFilter) return compileFieldFilter(fieldFilter, context, topLevelAnd);
  throw invalid(ONE_FILTER);
}

function noteInequality(context: FilterContext, path: string[] | null): void {
  if (path === null) context.inequalityFields.set(NAME, []);
  else context.inequalityFields.set(formatFieldPath(path), path);
}

function compileUnary(filter: google.firestore.v1.StructuredQuery.IUnaryFilter, context: FilterContext): Predicate {
  const fieldPath = filter.field?.fieldPath;
  const path = fieldPath === NAME ? null : parseFieldPath(fieldPath, 'unary filter');
  const read = fieldReader(path);
  switch (filter.op) {
    case 'IS_NAN':
      return (doc, entry) => {
        const value = read(doc, entry);
        return value !== undefined && isNaNValue(value);
      };
    case 'IS_NULL':
      return (doc, entry) => {
        const value = read(doc, entry);
        return value !== undefined && isNullValue(value);
      };
    case 'IS_NOT_NAN':
      noteInequality(context, path);
      return (doc, entry) => {
        const value = read(doc, entry);
        return value !== undefined && !isNullValue(value) && !isNaNValue(value);
      };
    case 'IS_NOT_NULL':
      noteInequality(context, path);
      return (doc, entry) => {
        const value = read(doc, entry);
        return value !== undefined && !isNullValue(value);
      };
    default:
      throw invalid(`Unary filter operator ${String(filter.op)} is not valid.`);
  }
}

function fieldReader(path: string[] | null): (doc: ValidDocument, entry: DocEntry) => ValidValue | undefined {
  if (path === null) return (doc) => ({ referenceValue: doc.name });
  return (doc) => getField(doc.fields, path);
}

function compileFieldFilter(filter: google.firestore.v1.StructuredQuery.IFieldFilter, context: FilterContext, topLevelAnd: boolean): Predicate {
  const fieldPath = filter.field?.fieldPath;
  const isName = fieldPath === NAME;
  const path = isName ? null : parseFieldPath(fieldPath, 'field filter');
  const label = path === null ? NAME : formatFieldPath(path);
  const op = filter.op;
  if (!filter.value) throw invalid(`Field filter on "${label}" has no value.`);
  const value = normalizeValue(filter.value, `filter on ${label}`, context.names, { forQuery: true });
  const isList = op === 'IN' || op === 'NOT_IN' || op === 'ARRAY_CONTAINS_ANY';
  let list: ValidValue[] = [];
  if (isList) {
    if (value.arrayValue === undefined) throw invalid(`A filter with ${op} on "${label}" needs an array value.`);
    list = value.arrayValue.values;
    if (list.length === 0) throw invalid(`A filter with ${op} on "${label}" needs a non-empty array.`);
    const max = op === 'NOT_IN' ? MAX_NOT_IN_VALUES : MAX_DISJUNCTION_VALUES;
    if (list.length > max) throw invalid(`'${op}' supports up to ${max} comparison values.`);
  }
  if (isName) {
    if (op === 'ARRAY_CONTAINS' || op === 'ARRAY_CONTAINS_ANY') {
      throw invalid(`Filters on __name__ cannot use ${op}.`);
    }
    for (const candidate of isList ? list : [value]) {
      if (candidate.referenceValue === undefined || context.names.referenceSegments(candidate.referenceValue, true) === null) {
        throw invalid(`A filter on __name__ must compare against document references, got ${JSON.stringify(candidate)}.`);
      }
    }
    if (topLevelAnd) noteNameBound(context, op, value);
    if (topLevelAnd && op === 'EQUAL') context.nameEquality = true;
  }
  if (op !== undefined && op !== null && INEQUALITY_OPERATORS.has(op)) noteInequality(context, path);

  const read = fieldReader(path);
  const order = isList ? 0 : typeOrder(value);
  // NaN matches no range filter (it sorts first in orderBy, but `x < 5` never matches it).
  const valueIsNaN = !isList && isNaNValue(value);
  const compare = (doc: ValidDocument, entry: DocEntry): number | null => {
    const field = read(doc, entry);
    if (valueIsNaN || field === undefined || typeOrder(field) !== order || isNaNValue(field)) return null;
    return compareValues(field, value);
  };
  // `in` and `array-contains-any` never match null, even listed (only `== null`, i.e. IS_NULL, does).
  const candidates = list.filter((candidate) => !isNullValue(candidate));
  switch (op) {
    case 'LESS_THAN':
      return (doc, entry) => {
        const c = compare(doc, entry);
        return c !== null && c < 0;
      };
    case 'LESS_THAN_OR_EQUAL':
      return (doc, entry) => {
        const c = compare(doc, entry);
        return c !== null && c <= 0;
      };
    case 'GREATER_THAN':
      return (doc, entry) => {
        const c = compare(doc, entry);
        return c !== null && c > 0;
      };
    case 'GREATER_THAN_OR_EQUAL':
      return (doc, entry) => {
        const c = compare(doc, entry);
        return c !== null && c >= 0;
      };
    case 'EQUAL':
      return (doc, entry) => {
        const field = read(doc, entry);
        return field !== undefined && valuesEqual(field, value);
      };
    case 'NOT_EQUAL':
      return (doc, entry) => {
        const field = read(doc, entry);
        return field !== undefined && !isNullValue(field) && !valuesEqual(field, value);
      };
    case 'ARRAY_CONTAINS':
      return (doc, entry) => {
        const field = read(doc, entry);
        if (field?.arrayValue === undefined) return false;
        return field.arrayValue.values.some((element) => valuesEqual(element, value));
      };
    case 'IN':
      return (doc, entry) => {
        const field = read(doc, entry);
        return field !== undefined && candidates.some((candidate) => valuesEqual(field, candidate));
      };
    case 'ARRAY_CONTAINS_ANY':
      return (doc, entry) => {
        const field = read(doc, entry);
        if (field?.arrayValue === undefined) return false;
        const elements = field.arrayValue.values;
        return elements.some((element) => candidates.some((candidate) => valuesEqual(element, candidate)));
      };
    case 'NOT_IN': {
      // As Firestore: a not-in list containing null matches nothing; missing fields and nulls never match.
      if (list.some(isNullValue)) return () => false;
      return (doc, entry) => {
        const field = read(doc, entry);
        return field !== undefined && !isNullValue(field) && !list.some((candidate) => valuesEqual(field, candidate));
      };
    }
    default:
      throw invalid(`Field filter operator ${String(op)} is not valid.`);
  }
}

/** Records `__name__` bounds of top-level AND filters so name-ordered scans start and stop early. */
function noteNameBound(context: FilterContext, op: string | null | undefined, value: ValidValue): void {
  const reference = value.referenceValue;
  if (reference === undefined) return;
  const segments = context.names.referenceSegments(reference, true);
  if (!segments || !reference.startsWith(`${context.names.root}/`)) return;
  const low = (inclusive: boolean) => {
    const current = context.nameLow;
    const order = current ? comparePaths(segments, current.segments) : 1;
    if (!current || order > 0 || (order === 0 && !inclusive)) context.nameLow = { segments, inclusive };
  };
  const high = (inclusive: boolean) => {
    const current = context.nameHigh;
    const order = current ? comparePaths(segments, current.segments) : -1;
    if (!current || order < 0 || (order === 0 && !inclusive)) context.nameHigh = { segments, inclusive };
  };
  if (op === 'GREATER_THAN') low(false);
  else if (op === 'GREATER_THAN_OR_EQUAL') low(true);
  else if (op === 'LESS_THAN') high(false);
  else if (op === 'LESS_THAN_OR_EQUAL') high(true);
  else if (op === 'EQUAL') {
    low(true);
    high(true);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Execution

interface Candidate {
  entry: DocEntry;
  doc: ValidDocument;
  /** The document's value of each orderBy field (`__name__` as a reference), read once to sort; empty in a walk by
   *  name, which needs no sort (a cursor reads the name from the entry). */
  orderValues: ValidValue[];
}

/** The values a document orders by, or null when it lacks an ordered field (orderBy then excludes it). */
function orderValuesOf(doc: ValidDocument, entry: DocEntry, orderBy: OrderField[]): ValidValue[] | null {
  const values: ValidValue[] = [];
  for (const field of orderBy) {
    const value = field.path === null ? { referenceValue: entry.name } : getField(doc.fields, field.path);
    if (value === undefined) return null;
    values.push(value);
  }
  return values;
}

function compareCandidates(orderBy: OrderField[]): (a: Candidate, b: Candidate) => number {
  return (a, b) => {
    for (let i = 0; i < orderBy.length; i++) {
      const field = orderBy[i];
      const order = field.path === null ? comparePaths(a.entry.segments, b.entry.segments) : compareValues(a.orderValues[i], b.orderValues[i]);
      if (order !== 0) return field.descending ? -order : order;
    }
    return 0;
  };
}

/** Position of a candidate relative to a cursor, in query order, over the cursor's values. */
function compareToCursor(candidate: Candidate, cursor: PreparedCursor, orderBy: OrderField[]): number {
  for (let i = 0; i < cursor.values.length; i++) {
    const value = orderBy[i].path === null ? { referenceValue: candidate.entry.name } : candidate.orderValues[i];
    const order = compareValues(value, cursor.values[i]);
    if (order !== 0) return orderBy[i].descending ? -order : order;
  }
  return 0;
}

function afterStart(candidate: Candidate, query: PreparedQuery): boolean {
  if (!query.startAt) return true;
  const order = compareToCursor(candidate, query.startAt, query.orderBy);
  return query.startAt.before ? order >= 0 : order > 0;
}

function beforeEnd(candidate: Candidate, query: PreparedQuery): boolean {
  if (!query.endAt) return true;
  const order = compareToCursor(candidate, query.endAt, query.orderBy);
  return query.endAt.before ? order < 0 : order <= 0;
}

/** The entries a query may match, in ascending or descending name order, starting near `from`. */
function scan(store: Store, query: PreparedQuery, from: readonly string[] | null, descending: boolean): Iterable<DocEntry> {
  if (query.collectionId !== null && !query.allDescendants) {
    return store.collection([...query.parent, query.collectionId].join('/'), from, descending);
  }
  if (query.collectionId === null) return store.descendants(query.parent, from, descending);
  const collections = store.collectionsInGroup(query.collectionId, query.parent);
  if (collections.length === 1) return store.collection(collections[0], from, descending);
  return mergeCollections(store, collections, from, descending);
}

function* mergeCollections(store: Store, collections: string[], from: readonly string[] | null, descending: boolean): Generator<DocEntry> {
  const entries: DocEntry[] = [];
  for (const path of collections) for (const entry of store.collection(path, from, descending)) entries.push(entry);
  entries.sort((a, b) => (descending ? -1 : 1) * comparePaths(a.segments, b.segments));
  yield* entries;
}

/** The cursor's `__name__` position as segments of this database, when the cursor is on the name alone. */
function nameCursorKey(cursor: PreparedCursor | null, names: NameParser): readonly string[] | null {
  if (!cursor || cursor.values.length !== 1) return null;
  const reference = cursor.values[0].referenceValue;
  if (reference === undefined || !reference.startsWith(`${names.root}/`)) return null;
  return reference.slice(names.root.length + 1).split('/');
}

export interface QueryResult {
  entries: DocEntry[];
  documents: ValidDocument[];
}

/** Runs a prepared query as of `micros`; documents come back projected. */
export function executeQuery(store: Store, query: PreparedQuery, micros: Micros, names: NameParser): QueryResult {
  if (query.nearest) return executeNearest(store, query, query.nearest, micros);
  const matched = query.orderBy.length === 1 ? executeByName(store, query, micros, names) : executeSorted(store, query, micros);
  const projection = query.projection;
  return {
    entries: matched.map((candidate) => candidate.entry),
    documents: matched.map(({ doc }) => (projection === null ? doc : projectDocument(doc, projection))),
  };
}

/**
 * Exact nearest-neighbour search: every matching document whose vector field is a vector of the query's
 * dimension, ranked by distance (nearest first; for DOT_PRODUCT the largest first), ties by name.
 */
function executeNearest(store: Store, query: PreparedQuery, nearest: PreparedNearest, micros: Micros): QueryResult {
  const ranked: { candidate: Candidate; distance: number }[] = [];
  for (const entry of scan(store, query, null, false)) {
    const doc = entry.at(micros);
    if (doc === null || (query.predicate && !query.predicate(doc, entry))) continue;
    const field = getField(doc.fields, nearest.vectorField);
    if (field === undefined || !isVector(field)) continue;
    const elements = vectorElements(field);
    // A vector holding something other than numbers has no distance, as a zero vector under COSINE.
    if (elements.length !== nearest.queryVector.length || !elements.every(isNumber)) continue;
    const distance = vectorDistance(nearest.measure, nearest.queryVector, elements.map(numberAsDouble));
    if (Number.isNaN(distance)) continue;
    if (nearest.threshold !== null && (nearest.measure === 'DOT_PRODUCT' ? distance < nearest.threshold : distance > nearest.threshold)) {
      continue;
    }
    ranked.push({ candidate: { entry, doc, orderValues: [] }, distance });
  }
  const sign = nearest.measure === 'DOT_PRODUCT' ? -1 : 1;
  ranked.sort((a, b) => sign * (a.distance - b.distance) || comparePaths(a.candidate.entry.segments, b.candidate.entry.segments));
  const top = ranked.slice(0, nearest.limit);
  // With a projection, the distance is returned only if the projection selects its field (as production).
  const { projection } = query;
  const resultField = nearest.resultField;
  const showDistance = resultField !== null && (projection === null || projection.some((path) => fieldPathIsPrefix(path, resultField)));
  return {
    entries: top.map(({ candidate }) => candidate.entry),
    documents: top.map(({ candidate: { doc }, distance }) => {
      const shown = projection === null ? doc : projectDocument(doc, projection);
      if (!showDistance || resultField === null) return shown;
      return { ...shown, fields: setField(shown.fields, resultField, { doubleValue: distance }) };
    }),
  };
}

/** NaN when undefined (COSINE with a zero vector): such a document has no distance and is left out. */
function vectorDistance(measure: DistanceMeasure, a: number[], b: number[]): number {
  let dot = 0;
  let squares = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    squares += (a[i] - b[i]) ** 2;
    normA += a[i] * a[i];
    normB += b[i] * b[i];
  }
  switch (measure) {
    case 'EUCLIDEAN':
      return Math.sqrt(squares);
    case 'DOT_PRODUCT':
      return dot;
    case 'COSINE':
      return normA === 0 || normB === 0 ? Number.NaN : 1 - dot / Math.sqrt(normA * normB);
  }
}

/** A document with only the given field paths (a projection or a read mask). */
export function projectDocument(doc: ValidDocument, paths: readonly (readonly string[])[]): ValidDocument {
  const fields = projectFields(doc.fields, paths);
  return { name: doc.name, fields, createTime: doc.createTime, updateTime: doc.updateTime };
}

/** Ordered by `__name__` only: walk the name index from the cursor or name bound, lazily, so the limit stops it. */
function executeByName(store: Store, query: PreparedQuery, micros: Micros, names: NameParser): Candidate[] {
  const { predicate } = query;
  // The filter is checked after the cursors, so the walk still stops at the end cursor.
  const matches = predicate ? ({ doc, entry }: Candidate) => predicate(doc, entry) : undefined;
  return takeWindow(nameOrderedCandidates(store, query, micros, names), query, matches);
}

function* nameOrderedCandidates(store: Store, query: PreparedQuery, micros: Micros, names: NameParser): Generator<Candidate> {
  const descending = query.orderBy[0].descending;
  let from = nameCursorKey(query.startAt, names);
  const bound = descending ? query.nameHigh : query.nameLow;
  // Start at whichever of the cursor and the name bound comes later in scan order.
  if (bound && (from === null || comparePaths(bound.segments, from) * (descending ? -1 : 1) > 0)) from = bound.segments;
  const stop = descending ? query.nameLow : query.nameHigh;
  for (const entry of scan(store, query, from, descending)) {
    if (stop) {
      const order = comparePaths(entry.segments, stop.segments) * (descending ? -1 : 1);
      if (order > 0 || (order === 0 && !stop.inclusive)) return;
    }
    const doc = entry.at(micros);
    if (doc !== null) yield { entry, doc, orderValues: [] };
  }
}

function executeSorted(store: Store, query: PreparedQuery, micros: Micros): Candidate[] {
  const candidates: Candidate[] = [];
  for (const entry of scan(store, query, null, false)) {
    const doc = entry.at(micros);
    if (doc === null) continue;
    if (query.predicate && !query.predicate(doc, entry)) continue;
    const orderValues = orderValuesOf(doc, entry, query.orderBy);
    if (orderValues === null) continue;
    candidates.push({ entry, doc, orderValues });
  }
  candidates.sort(compareCandidates(query.orderBy));
  return takeWindow(candidates, query);
}

/** Applies the start and end cursors, the offset and the limit to candidates in query order. */
function takeWindow(candidates: Iterable<Candidate>, query: PreparedQuery, matches?: (candidate: Candidate) => boolean): Candidate[] {
  const results: Candidate[] = [];
  let skipped = 0;
  for (const candidate of candidates) {
    if (!afterStart(candidate, query)) continue;
    if (!beforeEnd(candidate, query)) break;
    if (matches && !matches(candidate)) continue;
    if (skipped < query.offset) {
      skipped++;
      continue;
    }
    if (query.limit !== null && results.length >= query.limit) break;
    results.push(candidate);
  }
  return results;
}
