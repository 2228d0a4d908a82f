/**
 * One document as the entity record Google's Firestore emulator writes in an export (App Engine's onestore v3
 * `EntityProto`, proto2 with groups), and back. What Google's emulator writes, as its exports show:
 *
 * - key (13): app `dev~{project}` (read: any `x~{project}`), the path as (kind = collection id,
 *   name = document id) elements, `database_id` (23) for a named database; legacy numeric ids `__id7__` as `id`.
 * - every field a `raw_property` (15) but empty arrays, which are `property` (14) entries of meaning
 *   EMPTY_LIST (24); properties sorted by name; an array is one property per element with `multiple` set.
 * - values: int64, bool, UTF-8 string, double; null as an empty value; bytes with meaning BLOB (14);
 *   timestamps as int64 microseconds with meaning GD_WHEN (7); geo points as the PointValue group (x = latitude,
 *   y = longitude) with meaning GEORSS_POINT (9); references as the ReferenceValue group; maps as a nested
 *   EntityProto (empty key and entity group) in the string value with meaning ENTITY_PROTO (19); vectors as a
 *   nested entity holding only `__vector__`, one double per element.
 * - entity_group (16): the first element of the path.
 */
import type { DocumentContents, Value } from '../engine/api';
import { WireError, WireReader, WireType, WireWriter } from './wire';

/** An entity record read from an export, with the project and database its key names. */
export interface DecodedEntity extends DocumentContents {
  projectId: string;
  databaseId: string;
}

const DEFAULT_DATABASE = '(default)';

const enum Meaning {
  None = 0,
  GdWhen = 7,
  GeorssPoint = 9,
  Blob = 14,
  Text = 15,
  ByteString = 16,
  EntityProto = 19,
  EmptyList = 24,
}

const MEANINGS: ReadonlyMap<number, Meaning> = new Map(
  [Meaning.None, Meaning.GdWhen, Meaning.GeorssPoint, Meaning.Blob, Meaning.Text, Meaning.ByteString, Meaning.EntityProto, Meaning.EmptyList].map(
    (meaning): [number, Meaning] => [meaning, meaning],
  ),
);

/** The meaning a property's meaning field names, or undefined for a number that names none of these. */
function knownMeaning(code: number): Meaning | undefined {
  return MEANINGS.get(code);
}

// Firestore's timestamp range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z, in microseconds.
const MIN_MICROS = -62_135_596_800_000_000n;
const MAX_MICROS = 253_402_300_799_999_999n;
const MAX_NESTING = 100;
const VECTOR_PROPERTY = '__vector__';
const LEGACY_ID = /^__id(-?[1-9]\d*|0)__$/;

// ignoreBOM: a string that starts with U+FEFF keeps it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function text(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new WireError(`${what} is not valid UTF-8`);
  }
}

function unexpected(message: string, tag: { field: number; type: WireType }): WireError {
  return new WireError(`unexpected field ${tag.field} (wire type ${tag.type}) in ${message}`);
}

// ---------------------------------------------------------------------------------------------------------
// Reading

interface PathElement {
  kind: string;
  id: string;
}

/** An app id names its project after the partition prefix (`dev~`, `s~`, `e~`). */
function projectOfApp(app: string, what: string): string {
  const project = app.slice(app.indexOf('~') + 1);
  if (project === '') throw new WireError(`${what} names no project (app "${app}")`);
  return project;
}

function legacyId(id: bigint): string {
  return `__id${id}__`;
}

/** One path element: (kind, name | id), field numbers as given (Path.Element and ReferenceValue.PathElement differ). */
function readPathElement(reader: WireReader, fields: { kind: number; id: number; name: number }, what: string): PathElement {
  let kind: string | null = null;
  let id: string | null = null;
  while (!reader.done) {
    const tag = reader.tag();
    if (tag.field === fields.kind && tag.type === WireType.LengthDelimited) kind = text(reader.bytes(), `${what}: a collection id`);
    else if (tag.field === fields.name && tag.type === WireType.LengthDelimited && id === null) id = text(reader.bytes(), `${what}: a document id`);
    else if (tag.field === fields.id && tag.type === WireType.Varint && id === null) id = legacyId(reader.int64());
    else throw unexpected(`${what} path element`, tag);
  }
  if (kind === null || kind === '') throw new WireError(`${what}: a path element has no collection id`);
  if (id === null || id === '') throw new WireError(`${what}: the element of collection "${kind}" has no document id`);
  return { kind, id };
}

function segmentsOf(elements: PathElement[]): string[] {
  return elements.flatMap((element) => [element.kind, element.id]);
}

function readKey(reader: WireReader): { projectId: string; databaseId: string; segments: string[] } {
  let app: string | null = null;
  let databaseId = DEFAULT_DATABASE;
  const elements: PathElement[] = [];
  while (!reader.done) {
    const tag = reader.tag();
    if (tag.field === 13 && tag.type === WireType.LengthDelimited && app === null) app = text(reader.bytes(), 'the key app');
    else if (tag.field === 14 && tag.type === WireType.LengthDelimited && elements.length === 0) {
      const path = reader.message();
      while (!path.done) {
        const elementTag = path.tag();
        if (elementTag.field !== 1 || elementTag.type !== WireType.StartGroup) throw unexpected('the key path', elementTag);
        elements.push(readPathElement(path.group(1), { kind: 2, id: 3, name: 4 }, 'the key'));
      }
    } else if (tag.field === 20 && tag.type === WireType.LengthDelimited) {
      const namespace = text(reader.bytes(), 'the key namespace');
      if (namespace !== '') throw new WireError(`the key is in namespace "${namespace}": Firestore has no namespaces`);
    } else if (tag.field === 23 && tag.type === WireType.LengthDelimited) {
      const id = text(reader.bytes(), 'the key database id');
      if (id !== '') databaseId = id;
    } else throw unexpected('the key', tag);
  }
  if (app === null) throw new WireError('the key has no app');
  if (elements.length === 0) throw new WireError('the key has an empty path');
  return { projectId: projectOfApp(app, 'the key'), databaseId, segments: segmentsOf(elements) };
}

function readReference(reader: WireReader): string {
  let app: string | null = null;
  let databaseId = DEFAULT_DATABASE;
  const elements: PathElement[] = [];
  while (!reader.done) {
    const tag = reader.tag();
    if (tag.field === 13 && tag.type === WireType.LengthDelimited && app === null) app = text(reader.bytes(), 'a reference app');
    else if (tag.field === 14 && tag.type === WireType.StartGroup) {
      elements.push(readPathElement(reader.group(14), { kind: 15, id: 16, name: 17 }, 'a reference'));
    } else if (tag.field === 20 && tag.type === WireType.LengthDelimited) {
      const namespace = text(reader.bytes(), 'a reference namespace');
      if (namespace !== '') throw new WireError(`a reference is in namespace "${namespace}": Firestore has no namespaces`);
    } else if (tag.field === 23 && tag.type === WireType.LengthDelimited) {
      const id = text(reader.bytes(), 'a reference database id');
      if (id !== '') databaseId = id;
    } else throw unexpected('a reference value', tag);
  }
  if (app === null) throw new WireError('a reference has no app');
  if (elements.length === 0) throw new WireError('a reference has an empty path');
  return `projects/${projectOfApp(app, 'a reference')}/databases/${databaseId}/documents/${segmentsOf(elements).join('/')}`;
}

/** The members of a PropertyValue that are set. */
interface RawValue {
  int64?: bigint;
  boolean?: boolean;
  bytes?: Buffer;
  double?: number;
  point?: { x: number; y: number };
  reference?: string;
}

function readPropertyValue(reader: WireReader): RawValue {
  const value: RawValue = {};
  let members = 0;
  while (!reader.done) {
    const tag = reader.tag();
    members++;
    if (tag.field === 1 && tag.type === WireType.Varint) value.int64 = reader.int64();
    else if (tag.field === 2 && tag.type === WireType.Varint) value.boolean = reader.varint() !== 0n;
    else if (tag.field === 3 && tag.type === WireType.LengthDelimited) value.bytes = reader.bytes();
    else if (tag.field === 4 && tag.type === WireType.Fixed64) value.double = reader.double();
    else if (tag.field === 5 && tag.type === WireType.StartGroup) {
      const point = reader.group(5);
      let x: number | null = null;
      let y: number | null = null;
      while (!point.done) {
        const pointTag = point.tag();
        if (pointTag.field === 6 && pointTag.type === WireType.Fixed64) x = point.double();
        else if (pointTag.field === 7 && pointTag.type === WireType.Fixed64) y = point.double();
        else throw unexpected('a point value', pointTag);
      }
      if (x === null || y === null) throw new WireError('a point value lacks its x or y');
      value.point = { x, y };
    } else if (tag.field === 12 && tag.type === WireType.StartGroup) value.reference = readReference(reader.group(12));
    else throw unexpected('a property value', tag);
  }
  if (members > 1) throw new WireError('a property value has more than one member set');
  return value;
}

interface RawProperty {
  name: string;
  /** The meaning, if it is one of the above; `meaningCode` is the number as read. */
  meaning: Meaning | undefined;
  meaningCode: number;
  multiple: boolean;
  value: RawValue;
}

function readProperty(reader: WireReader): RawProperty {
  let name: string | null = null;
  let meaningCode: number = Meaning.None;
  let multiple: boolean | null = null;
  let value: RawValue | null = null;
  while (!reader.done) {
    const tag = reader.tag();
    if (tag.field === 1 && tag.type === WireType.Varint) meaningCode = Number(reader.varint());
    else if (tag.field === 3 && tag.type === WireType.LengthDelimited) name = text(reader.bytes(), 'a property name');
    else if (tag.field === 4 && tag.type === WireType.Varint) multiple = reader.varint() !== 0n;
    else if (tag.field === 5 && tag.type === WireType.LengthDelimited) value = readPropertyValue(reader.message());
    else throw unexpected('a property', tag);
  }
  if (name === null) throw new WireError('a property has no name');
  if (multiple === null) throw new WireError(`property "${name}" lacks its "multiple" flag`);
  if (value === null) throw new WireError(`property "${name}" has no value`);
  return { name, meaning: knownMeaning(meaningCode), meaningCode, multiple, value };
}

function convertValue(property: RawProperty, depth: number): Value {
  const { value, meaning, meaningCode, name } = property;
  const where = `property "${name}"`;
  const required = <T>(member: T | undefined, label: string): T => {
    if (member === undefined) throw new WireError(`${where}: a ${label} without its value`);
    return member;
  };
  switch (meaning) {
    case Meaning.None:
      if (value.int64 !== undefined) return { integerValue: value.int64.toString() };
      if (value.boolean !== undefined) return { booleanValue: value.boolean };
      if (value.bytes !== undefined) return { stringValue: text(value.bytes, `${where}: the string`) };
      if (value.double !== undefined) return { doubleValue: value.double };
      if (value.reference !== undefined) return { referenceValue: value.reference };
      if (value.point !== undefined) throw new WireError(`${where}: a point without the GEORSS_POINT meaning`);
      return { nullValue: 'NULL_VALUE' };
    case Meaning.Text:
      return { stringValue: text(required(value.bytes, 'TEXT'), `${where}: the string`) };
    case Meaning.GdWhen: {
      const micros = required(value.int64, 'timestamp (GD_WHEN)');
      if (micros < MIN_MICROS || micros > MAX_MICROS) throw new WireError(`${where}: timestamp ${micros} µs is outside 0001..9999`);
      const seconds = micros >= 0n ? micros / 1_000_000n : -((-micros + 999_999n) / 1_000_000n);
      const nanos = Number(micros - seconds * 1_000_000n) * 1000;
      return { timestampValue: { seconds: seconds.toString(), nanos } };
    }
    case Meaning.GeorssPoint: {
      const point = required(value.point, 'geo point (GEORSS_POINT)');
      return { geoPointValue: { latitude: point.x, longitude: point.y } };
    }
    case Meaning.Blob:
    case Meaning.ByteString:
      return { bytesValue: Buffer.from(required(value.bytes, 'bytes value')) };
    case Meaning.EntityProto: {
      const bytes = required(value.bytes, 'map (ENTITY_PROTO)');
      if (depth >= MAX_NESTING) throw new WireError(`${where}: maps nested more than ${MAX_NESTING} deep`);
      return readEmbedded(new WireReader(bytes), depth + 1);
    }
    default:
      throw new WireError(`${where}: meaning ${meaningCode} is not a Firestore value`);
  }
}

/** The properties of an entity, as Firestore fields (arrays from `multiple` properties). */
function convertProperties(properties: RawProperty[], depth: number): Record<string, Value> {
  const fields: Record<string, Value> = {};
  const arrays = new Map<string, Value[]>();
  for (const property of properties) {
    const { name } = property;
    const seen = Object.prototype.hasOwnProperty.call(fields, name);
    if (property.meaning === Meaning.EmptyList) {
      if (property.multiple || Object.keys(property.value).length > 0) {
        throw new WireError(`property "${name}": an empty list with a value or the multiple flag`);
      }
      if (seen) throw new WireError(`property "${name}" appears more than once`);
      fields[name] = { arrayValue: { values: [] } };
      continue;
    }
    const value = convertValue(property, depth);
    if (!property.multiple) {
      if (seen) throw new WireError(`property "${name}" appears more than once`);
      fields[name] = value;
    } else {
      if (value.arrayValue) throw new WireError(`property "${name}": an array directly inside an array`);
      let elements = arrays.get(name);
      if (!elements) {
        if (seen) throw new WireError(`property "${name}" is both a single value and an array`);
        elements = [];
        arrays.set(name, elements);
        fields[name] = { arrayValue: { values: elements } };
      }
      elements.push(value);
    }
  }
  return fields;
}

function readProperties(reader: WireReader, tag: { field: number; type: WireType }, into: RawProperty[]): boolean {
  if ((tag.field === 14 || tag.field === 15) && tag.type === WireType.LengthDelimited) {
    into.push(readProperty(reader.message()));
    return true;
  }
  return false;
}

/** A map value: a nested entity whose key and entity group are empty. */
function readEmbedded(reader: WireReader, depth: number): Value {
  const properties: RawProperty[] = [];
  while (!reader.done) {
    const tag = reader.tag();
    if (readProperties(reader, tag, properties)) continue;
    if ((tag.field === 13 || tag.field === 16) && tag.type === WireType.LengthDelimited) {
      const part = reader.message();
      while (!part.done) {
        const inner = part.tag();
        // The empty key holds an empty app (13) and an empty path (14); nothing else may be there.
        const empty = tag.field === 13 && (inner.field === 13 || inner.field === 14) && inner.type === WireType.LengthDelimited;
        if (!empty || part.bytes().length > 0) throw new WireError('a map value (nested entity) has a key or entity group');
      }
      continue;
    }
    throw unexpected('a map value (nested entity)', tag);
  }
  const fields = convertProperties(properties, depth);
  const vector = fields[VECTOR_PROPERTY];
  if (properties.length > 0 && properties.every((property) => property.name === VECTOR_PROPERTY)) {
    const elements = vector.arrayValue?.values;
    if (!elements || !elements.every((element) => typeof element.doubleValue === 'number')) {
      throw new WireError('a vector value holds something else than doubles');
    }
    return { mapValue: { fields: { __type__: { stringValue: '__vector__' }, value: { arrayValue: { values: elements } } } } };
  }
  return { mapValue: { fields } };
}

/** Reads one entity record of an export. Throws WireError naming what it cannot read. */
export function decodeEntity(bytes: Buffer): DecodedEntity {
  const reader = new WireReader(bytes);
  let key: ReturnType<typeof readKey> | null = null;
  let entityGroup: Buffer | null = null;
  const properties: RawProperty[] = [];
  while (!reader.done) {
    const tag = reader.tag();
    if (readProperties(reader, tag, properties)) continue;
    if (tag.field === 13 && tag.type === WireType.LengthDelimited && key === null) key = readKey(reader.message());
    else if (tag.field === 16 && tag.type === WireType.LengthDelimited && entityGroup === null) entityGroup = reader.bytes();
    else throw unexpected('the entity', tag);
  }
  if (key === null) throw new WireError('the entity has no key');
  // The entity group is derived from the key; it must be the path's first element.
  const expectedGroup = pathMessage(key.segments.slice(0, 2));
  if (entityGroup === null || !entityGroup.equals(expectedGroup)) {
    throw new WireError(`the entity group of ${key.segments.join('/')} is not its first path element`);
  }
  return { ...key, fields: convertProperties(properties, 0) };
}

// ---------------------------------------------------------------------------------------------------------
// Writing

function appOf(projectId: string): string {
  return `dev~${projectId}`;
}

function elementId(writer: WireWriter, id: string, fields: { id: number; name: number }): void {
  const legacy = LEGACY_ID.exec(id);
  if (legacy && BigInt.asIntN(64, BigInt(legacy[1])) === BigInt(legacy[1])) writer.varint(fields.id, BigInt.asUintN(64, BigInt(legacy[1])));
  else writer.string(fields.name, id);
}

function pathMessage(segments: readonly string[]): Buffer {
  const path = new WireWriter();
  for (let i = 0; i < segments.length; i += 2) {
    const element = new WireWriter().string(2, segments[i]);
    elementId(element, segments[i + 1], { id: 3, name: 4 });
    path.group(1, element);
  }
  return path.toBuffer();
}

function referenceGroup(name: string): WireWriter {
  const match = /^projects\/([^/]+)\/databases\/([^/]+)\/documents\/([^]+)$/.exec(name);
  if (!match) throw new Error(`"${name}" is not a document reference`);
  const [, projectId, databaseId, path] = match;
  const segments = path.split('/');
  const group = new WireWriter().string(13, appOf(projectId));
  for (let i = 0; i < segments.length; i += 2) {
    const element = new WireWriter().string(15, segments[i]);
    elementId(element, segments[i + 1], { id: 16, name: 17 });
    group.group(14, element);
  }
  if (databaseId !== DEFAULT_DATABASE) group.string(23, databaseId);
  return group;
}

/** A non-array value as (meaning, PropertyValue). */
function encodeScalar(value: Value): { meaning: Meaning; value: WireWriter } {
  const out = new WireWriter();
  if (value.nullValue !== undefined && value.nullValue !== null) return { meaning: Meaning.None, value: out };
  if (value.booleanValue !== undefined && value.booleanValue !== null) return { meaning: Meaning.None, value: out.varint(2, value.booleanValue) };
  if (value.integerValue !== undefined && value.integerValue !== null) {
    return { meaning: Meaning.None, value: out.varint(1, BigInt.asUintN(64, BigInt(String(value.integerValue)))) };
  }
  if (value.doubleValue !== undefined && value.doubleValue !== null) return { meaning: Meaning.None, value: out.double(4, value.doubleValue) };
  if (value.stringValue !== undefined && value.stringValue !== null) return { meaning: Meaning.None, value: out.string(3, value.stringValue) };
  if (value.bytesValue !== undefined && value.bytesValue !== null) return { meaning: Meaning.Blob, value: out.bytes(3, value.bytesValue) };
  if (value.timestampValue !== undefined && value.timestampValue !== null) {
    const seconds = BigInt(String(value.timestampValue.seconds ?? 0));
    const micros = seconds * 1_000_000n + BigInt(Math.floor((value.timestampValue.nanos ?? 0) / 1000));
    return { meaning: Meaning.GdWhen, value: out.varint(1, BigInt.asUintN(64, micros)) };
  }
  if (value.geoPointValue !== undefined && value.geoPointValue !== null) {
    const point = new WireWriter().double(6, value.geoPointValue.latitude ?? 0).double(7, value.geoPointValue.longitude ?? 0);
    return { meaning: Meaning.GeorssPoint, value: out.group(5, point) };
  }
  if (value.referenceValue !== undefined && value.referenceValue !== null) {
    return { meaning: Meaning.None, value: out.group(12, referenceGroup(value.referenceValue)) };
  }
  if (value.mapValue !== undefined && value.mapValue !== null) {
    return { meaning: Meaning.EntityProto, value: out.bytes(3, embeddedEntity(value.mapValue.fields ?? {})) };
  }
  throw new Error(`a value of none of the Firestore types: ${JSON.stringify(Object.keys(value))}`);
}

function property(name: string, meaning: Meaning, multiple: boolean, value: WireWriter): WireWriter {
  const out = new WireWriter();
  if (meaning !== Meaning.None) out.varint(1, meaning);
  return out.string(3, name).varint(4, multiple).message(5, value);
}

/** The `property` (14: empty arrays) and `raw_property` (15: the rest) entries of some fields, by name. */
function encodeFields(fields: Record<string, Value>): { indexed: WireWriter[]; raw: WireWriter[] } {
  const indexed: WireWriter[] = [];
  const raw: WireWriter[] = [];
  for (const name of Object.keys(fields).sort()) {
    const value = fields[name];
    if (value.arrayValue !== undefined && value.arrayValue !== null) {
      const elements = value.arrayValue.values ?? [];
      if (elements.length === 0) indexed.push(property(name, Meaning.EmptyList, false, new WireWriter()));
      for (const element of elements) {
        const encoded = encodeScalar(element);
        raw.push(property(name, encoded.meaning, true, encoded.value));
      }
    } else {
      const encoded = encodeScalar(value);
      raw.push(property(name, encoded.meaning, false, encoded.value));
    }
  }
  return { indexed, raw };
}

function isCanonicalVector(fields: Record<string, Value>): boolean {
  const keys = Object.keys(fields);
  const elements = fields.value?.arrayValue?.values;
  return (
    keys.length === 2 &&
    fields.__type__?.stringValue === '__vector__' &&
    elements !== undefined &&
    elements !== null &&
    elements.every((element) => typeof element.doubleValue === 'number')
  );
}

function embeddedEntity(fields: Record<string, Value>): Buffer {
  const entity = new WireWriter().message(13, new WireWriter().bytes(13, Buffer.alloc(0)).bytes(14, Buffer.alloc(0)));
  const encoded = isCanonicalVector(fields) ? encodeFields({ [VECTOR_PROPERTY]: fields.value }) : encodeFields(fields);
  for (const entry of encoded.indexed) entity.message(14, entry);
  for (const entry of encoded.raw) entity.message(15, entry);
  return entity.message(16, new WireWriter()).toBuffer();
}

/** The entity record of one document of `projects/{projectId}/databases/{databaseId}`. */
export function encodeEntity(projectId: string, databaseId: string, document: DocumentContents): Buffer {
  const key = new WireWriter().string(13, appOf(projectId)).bytes(14, pathMessage(document.segments));
  if (databaseId !== DEFAULT_DATABASE) key.string(23, databaseId);
  const entity = new WireWriter().message(13, key);
  const encoded = encodeFields(document.fields);
  for (const entry of encoded.indexed) entity.message(14, entry);
  for (const entry of encoded.raw) entity.message(15, entry);
  return entity.bytes(16, pathMessage(document.segments.slice(0, 2))).toBuffer();
}
