/**
 * Resource names (`projects/{p}/databases/{d}/documents/{path}`), their validation, and the orders Firestore
 * sorts strings and document paths in.
 */
import { Code, RpcError } from './api';

export const MAX_ID_BYTES = 1500;
export const MAX_DOCUMENT_NAME_BYTES = 6 * 1024;
/** Firestore allows subcollections 100 levels deep: at most 100 collection/document pairs. */
export const MAX_PATH_SEGMENTS = 200;

export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Strings that are not well-formed UTF-16 (lone surrogates) have no UTF-8 encoding: Firestore rejects them. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function isWellFormedUtf16(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/**
 * Compares strings by their UTF-8 bytes (Firestore's string order), which is code point order. JavaScript's
 * `<` compares UTF-16 code units, which differs only when a surrogate meets a code unit at or above U+E000.
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    if (xSurrogate !== ySurrogate) return xSurrogate ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Legacy numeric document ids (`__id123__`) sort before string ids, numerically. */
function numericId(segment: string): bigint | null {
  if (segment.length < 7 || !segment.startsWith('__id') || !segment.endsWith('__')) return null;
  const digits = segment.slice(4, -2);
  if (!/^-?\d{1,19}$/.test(digits)) return null;
  const value = BigInt(digits);
  return value >= -(2n ** 63n) && value < 2n ** 63n ? value : null;
}

export function compareSegments(a: string, b: string): number {
  if (a === b) return 0;
  const aNumeric = a.charCodeAt(0) === 95 /* _ */ ? numericId(a) : null;
  const bNumeric = b.charCodeAt(0) === 95 ? numericId(b) : null;
  if (aNumeric !== null || bNumeric !== null) {
    if (aNumeric === null) return 1;
    if (bNumeric === null) return -1;
    return aNumeric < bNumeric ? -1 : aNumeric > bNumeric ? 1 : 0;
  }
  return compareUtf8(a, b);
}

/** Document name order: segment by segment, a prefix first. */
export function comparePaths(a: readonly string[], b: readonly string[]): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const order = compareSegments(a[i], b[i]);
    if (order !== 0) return order;
  }
  return a.length - b.length;
}

export function isPrefixPath(prefix: readonly string[], path: readonly string[]): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== path[i]) return false;
  return true;
}

/** `projects/{p}/databases/{d}` */
export function databaseName(projectId: string, databaseId: string): string {
  return `projects/${projectId}/databases/${databaseId}`;
}

function invalid(message: string): RpcError {
  return new RpcError(Code.INVALID_ARGUMENT, message);
}

/** Checks one collection or document id (`isDocumentId`: at an odd position of the path) of a name. */
function checkId(id: string, name: string, isDocumentId: boolean): void {
  if (id === '') throw invalid(`Resource name "${name}" has an empty path segment.`);
  if (id === '.' || id === '..') throw invalid(`Resource name "${name}" has the invalid id "${id}".`);
  // Reserved, except the legacy numeric document ids `__id<n>__` that production accepts (and orders first).
  if (id.length > 4 && id.startsWith('__') && id.endsWith('__') && !(isDocumentId && numericId(id) !== null)) {
    throw invalid(`Resource name "${name}" contains the reserved id "${id}" (ids matching __.*__ are reserved).`);
  }
  if (!isWellFormedUtf16(id)) throw invalid(`Resource name "${name}" is not valid UTF-8.`);
  if (utf8Length(id) > MAX_ID_BYTES) {
    throw invalid(`Resource name "${name}" has an id longer than ${MAX_ID_BYTES} bytes.`);
  }
}

/**
 * Parses names under one database. `segments` are the path below `.../documents` (empty for the root).
 */
export class NameParser {
  readonly database: string;
  readonly root: string;
  private readonly rootSlash: string;

  constructor(
    readonly projectId: string,
    readonly databaseId: string,
  ) {
    this.database = databaseName(projectId, databaseId);
    this.root = `${this.database}/documents`;
    this.rootSlash = `${this.root}/`;
  }

  /** The `database` field of a request must name this database. */
  checkDatabase(value: string | null | undefined, field = 'database'): void {
    if (!value) throw invalid(`Missing ${field}: expected "${this.database}".`);
    if (value !== this.database) {
      throw invalid(`${field} "${value}" does not match the database of the request URL "${this.database}".`);
    }
  }

  private relative(name: string, what: string): string[] {
    if (name === this.root) return [];
    if (!name.startsWith(this.rootSlash)) {
      if (name.startsWith('projects/')) {
        throw invalid(`${what} "${name}" is not in the database "${this.database}" this request addresses.`);
      }
      throw invalid(`${what} "${name}" is not a valid resource name: expected "${this.root}/...".`);
    }
    return name.slice(this.rootSlash.length).split('/');
  }

  /** A document name the client reads or writes: even segment count, valid ids, size limits. */
  document(name: string | null | undefined, what = 'Document name'): string[] {
    if (!name) throw invalid(`${what} is missing.`);
    const segments = this.relative(name, what);
    this.checkSegments(segments, name, what);
    if (segments.length === 0 || segments.length % 2 !== 0) {
      throw invalid(
        `${what} "${name}" is not a document name: a document path needs an even number of segments ` + `(collection/document pairs), got ${segments.length}.`,
      );
    }
    return segments;
  }

  /** A query or listing parent: the documents root or a document. */
  parent(name: string | null | undefined): string[] {
    if (name === undefined || name === null || name === '') throw invalid('Missing parent.');
    const segments = this.relative(name, 'Parent');
    if (segments.length % 2 !== 0) {
      throw invalid(`Parent "${name}" must be the documents root or a document, not a collection.`);
    }
    this.checkSegments(segments, name, 'Parent');
    return segments;
  }

  /** A reference value stored in a document or compared in a query: any database, any valid document. */
  referenceSegments(name: string, lenient: boolean): string[] | null {
    const match = /^projects\/([^/]+)\/databases\/([^/]+)\/documents\/([^]+)$/.exec(name);
    if (!match) return null;
    const segments = match[3].split('/');
    if (segments.length % 2 !== 0) return null;
    for (let i = 0; i < segments.length; i++) {
      if (segments[i] === '') return null;
      // Queries may compare against legacy numeric ids such as the SDKs' `__id-9223372036854775808__` bound.
      if (!lenient) checkId(segments[i], name, i % 2 === 1);
    }
    return segments;
  }

  private checkSegments(segments: string[], name: string, what: string): void {
    if (segments.length > MAX_PATH_SEGMENTS) {
      throw invalid(`${what} "${name}" is nested deeper than Firestore's 100 levels of subcollections.`);
    }
    segments.forEach((id, i) => checkId(id, name, i % 2 === 1));
    if (utf8Length(name) > MAX_DOCUMENT_NAME_BYTES) {
      throw invalid(`${what} "${name.slice(0, 200)}..." is longer than ${MAX_DOCUMENT_NAME_BYTES} bytes.`);
    }
  }

  name(segments: readonly string[]): string {
    return segments.length === 0 ? this.root : `${this.rootSlash}${segments.join('/')}`;
  }
}
