/**
 * Writes: validation of a Write message into a prepared form, and application of a list of writes to the
 * state a request started from. Application is pure (it returns the resulting documents), so a request
 * that fails anywhere changes nothing.
 */
import type { google } from '@google-cloud/firestore/build/protos/firestore_v1_proto_api';
import { Code, RpcError, ValidDocument, ValidTimestamp, ValidValue, WriteResult } from './api';
import { NameParser } from './paths';
import { checkTimestamp, Micros, requestTime, timestampSeconds, timestampsEqual, toTimestamp } from './time';
import {
  compareValues,
  deleteField,
  documentSize,
  fieldPathIsPrefix,
  fieldsIdentical,
  formatFieldPath,
  getField,
  integerOf,
  isNaNValue,
  isNumber,
  MAX_DOCUMENT_BYTES,
  normalizeFields,
  normalizeArray,
  normalizeValue,
  NULL_VALUE,
  NumberValue,
  numberAsDouble,
  parseFieldPath,
  setField,
  valuesEquivalent,
} from './values';

type FieldTransform = google.firestore.v1.DocumentTransform.IFieldTransform;

export type PreparedTransform =
  | { path: string[]; kind: 'serverTime' }
  | { path: string[]; kind: 'increment' | 'maximum' | 'minimum'; operand: NumberValue }
  | { path: string[]; kind: 'append' | 'remove'; elements: ValidValue[] };

export type Precondition = { exists: boolean } | { updateTime: ValidTimestamp };

export interface PreparedWrite {
  name: string;
  segments: string[];
  /** set: replace the document; merge: update the masked fields; transform: transforms only; verify: check
   *  the precondition only (the web SDK's transactions send one for each document read but not written). */
  operation: 'set' | 'merge' | 'delete' | 'transform' | 'verify';
  fields: Record<string, ValidValue>;
  mask: string[][];
  transforms: PreparedTransform[];
  precondition: Precondition | null;
}

function invalid(message: string): RpcError {
  return new RpcError(Code.INVALID_ARGUMENT, message);
}

/** `verify` (field 5) is in the Write message the web SDK compiles in, not in @google-cloud/firestore's. */
export type Write = google.firestore.v1.IWrite & { verify?: string | null };

const WRITE_FIELDS = new Set(['update', 'delete', 'verify', 'transform', 'updateMask', 'updateTransforms', 'currentDocument']);

/** Validates one Write of a Commit or BatchWrite. */
export function prepareWrite(write: Write, names: NameParser): PreparedWrite {
  for (const key of Object.keys(write)) {
    if (!WRITE_FIELDS.has(key) && (write as Record<string, unknown>)[key] !== undefined) {
      throw new RpcError(Code.UNIMPLEMENTED, `The offline Firestore emulator does not implement the Write field "${key}".`);
    }
  }
  const operations = [write.update, write.delete, write.verify, write.transform].filter((part) => part != null);
  if (operations.length !== 1) throw invalid('A write must set exactly one of update, delete, verify or transform.');
  const precondition = preparePrecondition(write.currentDocument);

  if (write.verify !== undefined && write.verify !== null) {
    if (write.updateMask || write.updateTransforms?.length) {
      throw invalid('A verify cannot have an update_mask or update_transforms.');
    }
    if (!precondition) throw invalid(`The verify of "${write.verify}" needs a current_document precondition.`);
    const segments = names.document(write.verify);
    return { name: write.verify, segments, operation: 'verify', fields: {}, mask: [], transforms: [], precondition };
  }

  if (write.delete !== undefined && write.delete !== null) {
    if (write.updateMask) throw invalid('A delete cannot have an update_mask.');
    if (write.updateTransforms?.length) throw invalid('A delete cannot have update_transforms.');
    const segments = names.document(write.delete);
    return { name: write.delete, segments, operation: 'delete', fields: {}, mask: [], transforms: [], precondition };
  }

  if (write.transform) {
    if (write.updateMask) throw invalid('A transform write cannot have an update_mask.');
    if (write.updateTransforms?.length) throw invalid('A transform write cannot have update_transforms.');
    const name = write.transform.document ?? '';
    const segments = names.document(name);
    const transforms = prepareTransforms(write.transform.fieldTransforms ?? [], names);
    if (transforms.length === 0) throw invalid(`The transform of "${name}" has no field transforms.`);
    return { name, segments, operation: 'transform', fields: {}, mask: [], transforms, precondition };
  }

  // The one operation left is update.
  const update = write.update;
  if (!update) throw invalid('A write must set exactly one of update, delete, verify or transform.');
  const name = update.name ?? '';
  const segments = names.document(name);
  const fields = normalizeFields(update.fields ?? {}, '', names);
  const transforms = prepareTransforms(write.updateTransforms ?? [], names);
  if (!write.updateMask) return { name, segments, operation: 'set', fields, mask: [], transforms, precondition };

  // As production: only the masked paths are written (fields of the document outside them are ignored), and
  // mask paths may overlap (`owner` and `owner.name`).
  const mask = (write.updateMask.fieldPaths ?? []).map((path) => parseFieldPath(path, 'update_mask'));
  return { name, segments, operation: 'merge', fields, mask, transforms, precondition };
}

function preparePrecondition(precondition: google.firestore.v1.IPrecondition | null | undefined): Precondition | null {
  if (!precondition) return null;
  const hasExists = precondition.exists !== undefined && precondition.exists !== null;
  const hasUpdateTime = precondition.updateTime !== undefined && precondition.updateTime !== null;
  if (hasExists && hasUpdateTime) throw invalid('A precondition can set exists or update_time, not both.');
  if (hasExists) return { exists: Boolean(precondition.exists) };
  const updateTime = precondition.updateTime;
  if (updateTime !== undefined && updateTime !== null) {
    checkTimestamp(updateTime, 'current_document.update_time');
    return { updateTime: { seconds: String(timestampSeconds(updateTime)), nanos: updateTime.nanos ?? 0 } };
  }
  return null;
}

function checkNoOverlap(paths: string[][], what: string): void {
  for (let i = 0; i < paths.length; i++) {
    for (let j = 0; j < paths.length; j++) {
      if (i !== j && fieldPathIsPrefix(paths[i], paths[j])) {
        const a = formatFieldPath(paths[i]);
        const b = formatFieldPath(paths[j]);
        throw invalid(a === b ? `${what} contains the field path "${a}" twice.` : `${what} contains both "${a}" and its sub-field "${b}".`);
      }
    }
  }
}

function prepareTransforms(transforms: FieldTransform[], names: NameParser): PreparedTransform[] {
  const prepared = transforms.map((transform) => prepareTransform(transform, names));
  checkNoOverlap(
    prepared.map((transform) => transform.path),
    'field transforms',
  );
  return prepared;
}

const TRANSFORM_KINDS = ['setToServerValue', 'increment', 'maximum', 'minimum', 'appendMissingElements', 'removeAllFromArray'] as const;

function prepareTransform(transform: FieldTransform, names: NameParser): PreparedTransform {
  const path = parseFieldPath(transform.fieldPath, 'field transform');
  const label = formatFieldPath(path);
  const kinds = TRANSFORM_KINDS.filter((key) => transform[key] !== undefined && transform[key] !== null);
  if (kinds.length !== 1) throw invalid(`The transform of field "${label}" must set exactly one transformation.`);
  switch (kinds[0]) {
    case 'setToServerValue':
      if ((transform.setToServerValue as unknown) !== 'REQUEST_TIME') {
        throw invalid(`The transform of field "${label}" has the invalid server value ${String(transform.setToServerValue)}.`);
      }
      return { path, kind: 'serverTime' };
    case 'increment':
    case 'maximum':
    case 'minimum': {
      const operand = normalizeValue(transform[kinds[0]], label, names);
      if (!isNumber(operand)) {
        throw invalid(`The ${kinds[0]} transform of field "${label}" needs an integer or double operand.`);
      }
      return { path, kind: kinds[0], operand };
    }
    case 'appendMissingElements':
    case 'removeAllFromArray': {
      const elements = normalizeArray(transform[kinds[0]], label, names);
      return { path, kind: kinds[0] === 'appendMissingElements' ? 'append' : 'remove', elements };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Application

export interface DocumentOutcome {
  name: string;
  segments: string[];
  /** The document when the request started. */
  before: ValidDocument | null;
  /** The document after every write of the request (the same object as `before` when unchanged). */
  after: ValidDocument | null;
  /** False when the request only verified the document's precondition (nothing to judge or report). */
  written: boolean;
}

export interface AppliedWrites {
  writeResults: WriteResult[];
  /** One per document the request wrote or verified, in order of first appearance. */
  outcomes: DocumentOutcome[];
}

/**
 * Applies `writes` in order to the documents `read` returns (the state the request started from), as of
 * the commit instant. Throws the precondition or size error of the first write that fails.
 */
export function applyWrites(writes: PreparedWrite[], read: (name: string) => ValidDocument | null, commitMicros: Micros): AppliedWrites {
  const commitTime = toTimestamp(commitMicros);
  // serverTimestamp() has millisecond precision.
  const serverTimestamp: ValidValue = { timestampValue: requestTime(commitMicros) };
  const outcomes = new Map<string, DocumentOutcome>();
  const writeResults: WriteResult[] = [];
  const transformCount = new Map<string, number>();

  for (const write of writes) {
    let outcome = outcomes.get(write.name);
    if (!outcome) {
      const before = read(write.name);
      outcome = { name: write.name, segments: write.segments, before, after: before, written: false };
      outcomes.set(write.name, outcome);
    }
    const current = outcome.after;
    if (outcome.written && current === null && write.precondition && 'exists' in write.precondition && write.precondition.exists) {
      // Production: updating a document that an earlier write of the same commit deleted is an invalid request.
      throw invalid(`Document ${write.name} cannot be updated after it was deleted earlier in the same request.`);
    }
    checkPrecondition(write, current);
    const transformsSoFar = (transformCount.get(write.name) ?? 0) + countTransforms(write.transforms);
    transformCount.set(write.name, transformsSoFar);
    if (transformsSoFar > MAX_TRANSFORMS_PER_DOCUMENT) {
      throw invalid(
        `Document ${write.name} has more than ${MAX_TRANSFORMS_PER_DOCUMENT} field transformations in one request ` +
          '(each element of an array transformation counts).',
      );
    }

    if (write.operation === 'verify') {
      writeResults.push(current ? { updateTime: current.updateTime } : {});
      continue;
    }
    outcome.written = true;
    if (write.operation === 'delete') {
      outcome.after = null;
      writeResults.push({});
      continue;
    }

    let fields: Record<string, ValidValue>;
    if (write.operation === 'set') fields = write.fields;
    else {
      fields = current?.fields ?? {};
      for (const path of write.mask) {
        const value = getField(write.fields, path);
        fields = value === undefined ? deleteField(fields, path) : setField(fields, path, value);
      }
    }
    const transformResults: ValidValue[] = [];
    for (const transform of write.transforms) {
      const value = applyTransform(transform, getField(fields, transform.path), serverTimestamp);
      transformResults.push(transform.kind === 'append' || transform.kind === 'remove' ? NULL_VALUE : value);
      fields = setField(fields, transform.path, value);
    }

    const size = documentSize(write.segments, fields);
    if (size > MAX_DOCUMENT_BYTES) {
      throw invalid(
        `Document '${write.name}' cannot be written because its size (${size.toLocaleString('en-US')} bytes) ` +
          `exceeds the maximum allowed size of ${MAX_DOCUMENT_BYTES.toLocaleString('en-US')} bytes.`,
      );
    }
    // A write that changes nothing keeps the document, and its update time, as they were.
    let after = current;
    if (!after || !fieldsIdentical(after.fields, fields)) {
      after = { name: write.name, fields, createTime: current?.createTime ?? commitTime, updateTime: commitTime };
      outcome.after = after;
    }
    const result: WriteResult = { updateTime: after.updateTime };
    if (write.transforms.length > 0) result.transformResults = transformResults;
    writeResults.push(result);
  }
  return { writeResults, outcomes: [...outcomes.values()] };
}

/** https://firebase.google.com/docs/firestore/quotas: field transformations on one document in a Commit or transaction. */
const MAX_TRANSFORMS_PER_DOCUMENT = 500;

function countTransforms(transforms: PreparedTransform[]): number {
  let count = 0;
  for (const transform of transforms) count += transform.kind === 'append' || transform.kind === 'remove' ? transform.elements.length : 1;
  return count;
}

function checkPrecondition(write: PreparedWrite, current: ValidDocument | null): void {
  const precondition = write.precondition;
  if (!precondition) return;
  if ('exists' in precondition) {
    if (precondition.exists && !current) {
      throw new RpcError(Code.NOT_FOUND, `No document to update: ${write.name}`);
    }
    if (!precondition.exists && current) {
      throw new RpcError(Code.ALREADY_EXISTS, `Document already exists: ${write.name}`);
    }
    return;
  }
  if (!current || !timestampsEqual(current.updateTime, precondition.updateTime)) {
    throw new RpcError(
      Code.FAILED_PRECONDITION,
      current
        ? `The document ${write.name} was updated after the update_time the write requires.`
        : `The document ${write.name} does not exist, but the write requires an update_time.`,
    );
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function applyTransform(transform: PreparedTransform, current: ValidValue | undefined, requestTime: ValidValue): ValidValue {
  switch (transform.kind) {
    case 'serverTime':
      return requestTime;
    case 'increment':
      return current !== undefined && isNumber(current) ? add(current, transform.operand) : transform.operand;
    case 'maximum':
    case 'minimum': {
      if (current === undefined || !isNumber(current)) return transform.operand;
      // NaN wins both; between equal numbers (3 and 3.0, 0 and -0) the stored value stays.
      if (isNaNValue(current)) return current;
      if (isNaNValue(transform.operand)) return transform.operand;
      const order = compareValues(transform.operand, current);
      const takeOperand = transform.kind === 'maximum' ? order > 0 : order < 0;
      return takeOperand ? transform.operand : current;
    }
    case 'append': {
      const values = current?.arrayValue !== undefined ? [...current.arrayValue.values] : [];
      for (const element of transform.elements) {
        if (!values.some((value) => valuesEquivalent(value, element))) values.push(element);
      }
      return { arrayValue: { values } };
    }
    case 'remove': {
      const values = current?.arrayValue !== undefined ? current.arrayValue.values : [];
      return {
        arrayValue: { values: values.filter((value) => !transform.elements.some((element) => valuesEquivalent(value, element))) },
      };
    }
  }
}

/** Integer + integer stays an integer, saturating at the int64 bounds; anything with a double is a double. */
function add(a: NumberValue, b: NumberValue): ValidValue {
  if (a.integerValue !== undefined && b.integerValue !== undefined) {
    const x = integerOf(a.integerValue);
    const y = integerOf(b.integerValue);
    if (typeof x === 'number' && typeof y === 'number' && Number.isSafeInteger(x + y)) return { integerValue: String(x + y) };
    let sum = BigInt(x) + BigInt(y);
    if (sum > INT64_MAX) sum = INT64_MAX;
    if (sum < INT64_MIN) sum = INT64_MIN;
    return { integerValue: sum.toString() };
  }
  return { doubleValue: numberAsDouble(a) + numberAsDouble(b) };
}
