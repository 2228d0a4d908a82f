/**
 * Generated Firestore documents in the stored form the engine keeps (canonical integers, microsecond
 * timestamps), covering every value type, and a comparison that tells NaN, -0 and 0 apart.
 */
import fc from 'fast-check';
import type { DocumentContents, Value } from '../../src/engine';

const PROJECT_IDS = ['demo-export', 'elsewhere'];
const DATABASE_IDS = ['(default)', 'db2'];

const id = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }).filter((s) => !s.includes('/') && s !== '.' && s !== '..' && !/^__.*__$/.test(s)),
  },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => `__id${n}__`) },
);

/** Collection / document pairs, at most three deep. */
export const documentPath = fc.array(fc.tuple(id, id), { minLength: 1, maxLength: 3 }).map((pairs) => pairs.flat());

const fieldName = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }).filter((s) => !/^__.*__$/.test(s));

const micros = fc.bigInt({ min: -62_135_596_800_000_000n, max: 253_402_300_799_999_999n });

const scalar: fc.Arbitrary<Value> = fc.oneof(
  fc.constant<Value>({ nullValue: 'NULL_VALUE' }),
  fc.boolean().map((b) => ({ booleanValue: b })),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => ({ integerValue: n.toString() })),
  fc.double().map((d) => ({ doubleValue: d })),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0).map((d) => ({ doubleValue: d })),
  micros.map((m) => {
    const seconds = m >= 0n ? m / 1_000_000n : -((-m + 999_999n) / 1_000_000n);
    return { timestampValue: { seconds: seconds.toString(), nanos: Number(m - seconds * 1_000_000n) * 1000 } };
  }),
  fc.string({ unit: 'binary', maxLength: 20 }).map((s) => ({ stringValue: s })),
  fc.uint8Array({ maxLength: 16 }).map((b) => ({ bytesValue: Buffer.from(b) })),
  fc
    .tuple(fc.constantFrom(...PROJECT_IDS), fc.constantFrom(...DATABASE_IDS), documentPath)
    .map(([project, database, path]) => ({ referenceValue: `projects/${project}/databases/${database}/documents/${path.join('/')}` })),
  fc
    .tuple(fc.double({ min: -90, max: 90, noNaN: true }), fc.double({ min: -180, max: 180, noNaN: true }))
    .map(([latitude, longitude]) => ({ geoPointValue: { latitude, longitude } })),
  fc.array(fc.double(), { maxLength: 4 }).map((elements) => ({
    mapValue: { fields: { __type__: { stringValue: '__vector__' }, value: { arrayValue: { values: elements.map((d) => ({ doubleValue: d })) } } } },
  })),
);

const { value } = fc.letrec<{ value: Value; element: Value; map: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    scalar,
    tie('map'),
    fc.array(tie('element'), { maxLength: 4 }).map((values) => ({ arrayValue: { values } })),
  ),
  element: fc.oneof({ depthSize: 'small' }, scalar, tie('map')),
  map: fc.dictionary(fieldName, tie('value'), { maxKeys: 4 }).map((fields) => ({ mapValue: { fields } })),
}));

export const fields = fc.dictionary(fieldName, value, { maxKeys: 6 });

/** Documents with distinct paths. */
export const documents: fc.Arbitrary<DocumentContents[]> = fc.uniqueArray(fc.record({ segments: documentPath, fields }), {
  maxLength: 8,
  selector: (document) => document.segments.join('/'),
});

/** A plain, comparable form of a value: doubles by their exact value (NaN, -0), bytes as hex. */
export function canonical(value: Value): unknown {
  if (value.doubleValue !== undefined && value.doubleValue !== null) return { double: Object.is(value.doubleValue, -0) ? '-0' : String(value.doubleValue) };
  if (value.bytesValue) return { bytes: Buffer.from(value.bytesValue).toString('hex') };
  if (value.arrayValue) return { array: (value.arrayValue.values ?? []).map(canonical) };
  if (value.mapValue) return { map: canonicalFields(value.mapValue.fields ?? {}) };
  if (value.timestampValue) return { timestamp: `${String(value.timestampValue.seconds)}.${value.timestampValue.nanos ?? 0}` };
  return value;
}

export function canonicalFields(fields: Record<string, Value>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(fields)
      .sort()
      .map((key) => [key, canonical(fields[key])]),
  );
}

export function canonicalDocuments(documents: readonly DocumentContents[]): unknown[] {
  return [...documents]
    .map((document) => ({ path: document.segments.join('/'), fields: canonicalFields(document.fields) }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
