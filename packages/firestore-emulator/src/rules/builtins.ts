/**
 * Operators, type methods and library functions of the rules language, on the value model of values.ts.
 * Reference: https://firebase.google.com/docs/reference/rules/rules (one section per type / namespace below).
 * Every function here is pure; the document-access functions (get, exists, getAfter, existsAfter) and debug()
 * live in the evaluator because they need the request.
 *
 * Where the reference leaves a behaviour open, the stricter reading is implemented and marked "Undocumented:".
 */
import { createHash } from 'node:crypto';
import { RE2JS } from 're2js';
import {
  ContainsList,
  Duration,
  EvalError,
  INT_MAX,
  INT_MIN,
  LatLng,
  MapDiff,
  PartialMap,
  RMap,
  RPath,
  RSet,
  RValue,
  Timestamp,
  Unknown,
  compare,
  equals,
  floorDiv,
  floorMod,
  formatFloat,
  render,
  setHas,
  toSet,
  typeName,
  typeOf,
  unknownUse,
  type TypeTag,
} from './values';

/**
 * `bool()` and `math.isInfinite()` are named in the reference but production has neither: its compiler accepts a
 * call (warning "Invalid function name") and evaluating it is an error, so a rule using them denies. They are
 * in the tables below so that the rules load, and evaluate to that error.
 */
function absentInProduction(name: string): EvalError {
  return new EvalError(`Function not found error: Name: [${name}].`);
}

/** Functions callable without a receiver, with their accepted argument counts. */
export const GLOBAL_FUNCTIONS: Readonly<Record<string, readonly number[]>> = {
  get: [1],
  exists: [1],
  getAfter: [1],
  existsAfter: [1],
  debug: [1],
  int: [1],
  float: [1],
  string: [1],
  bool: [1],
  path: [1],
};

/** `namespace.function(...)` library functions (rules.math, rules.hashing, rules.duration, rules.timestamp, rules.latlng). */
export const NAMESPACE_FUNCTIONS: Readonly<Record<string, Readonly<Record<string, readonly number[]>>>> = {
  math: { abs: [1], ceil: [1], floor: [1], round: [1], sqrt: [1], pow: [2], isInfinite: [1], isNaN: [1] },
  hashing: { crc32: [1], crc32c: [1], md5: [1], sha256: [1] },
  duration: { abs: [1], time: [4], value: [2] },
  timestamp: { date: [3], value: [1] },
  latlng: { value: [2] },
};

/** Methods of each type, with their argument counts; a method name found in none of them is refused at compile time. */
export const TYPE_METHODS: Readonly<Record<string, Readonly<Record<string, readonly number[]>>>> = {
  string: { lower: [0], upper: [0], matches: [1], replace: [2], size: [0], split: [1], toUtf8: [0], trim: [0] },
  list: { concat: [1], hasAll: [1], hasAny: [1], hasOnly: [1], join: [1], removeAll: [1], size: [0], toSet: [0] },
  map: { diff: [1], get: [2], keys: [0], size: [0], values: [0] },
  map_diff: { addedKeys: [0], affectedKeys: [0], changedKeys: [0], removedKeys: [0], unchangedKeys: [0] },
  set: { difference: [1], hasAll: [1], hasAny: [1], hasOnly: [1], intersection: [1], size: [0], union: [1] },
  path: { bind: [1] },
  bytes: { size: [0], toBase64: [0], toHexString: [0] },
  duration: { nanos: [0], seconds: [0] },
  timestamp: {
    date: [0],
    day: [0],
    dayOfWeek: [0],
    dayOfYear: [0],
    hours: [0],
    minutes: [0],
    month: [0],
    nanos: [0],
    seconds: [0],
    time: [0],
    toMillis: [0],
    year: [0],
  },
  latlng: { distance: [1], latitude: [0], longitude: [0] },
};

/** Every method name and the argument counts it accepts on some type. */
export const METHOD_ARITIES: ReadonlyMap<string, ReadonlySet<number>> = (() => {
  const all = new Map<string, Set<number>>();
  for (const methods of Object.values(TYPE_METHODS)) {
    for (const [name, arities] of Object.entries(methods)) {
      const set = all.get(name) ?? new Set<number>();
      for (const a of arities) set.add(a);
      all.set(name, set);
    }
  }
  return all;
})();

/** Type names accepted after `is` (https://firebase.google.com/docs/rules/rules-language, operator table, plus bytes). */
export const TYPE_CHECKS = ['bool', 'int', 'float', 'number', 'string', 'list', 'map', 'timestamp', 'duration', 'path', 'latlng', 'bytes'] as const;
export type TypeCheck = (typeof TYPE_CHECKS)[number];

export function isType(v: RValue, type: TypeCheck): boolean {
  const tag = typeOf(v);
  switch (type) {
    case 'number':
      return tag === 'int' || tag === 'float';
    case 'map':
      return tag === 'map' || tag === 'partial_map';
    case 'list':
      return tag === 'list' || tag === 'contains_list';
    default:
      return tag === type;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Numbers, timestamps and durations

const NANOS = 1_000_000_000n;
/** rules.Timestamp range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z. */
const TIMESTAMP_MIN = -62135596800n * NANOS;
const TIMESTAMP_MAX = 253402300800n * NANOS - 1n;
/** rules.Duration seconds range: -315,576,000,000 .. +315,576,000,000. */
const DURATION_LIMIT = 315576000000n * NANOS + 999_999_999n;

export function checkedInt(v: bigint): bigint {
  if (v < INT_MIN || v > INT_MAX) throw new EvalError('integer overflow');
  return v;
}

export function checkedTimestamp(nanos: bigint): Timestamp {
  if (nanos < TIMESTAMP_MIN || nanos > TIMESTAMP_MAX) throw new EvalError('timestamp out of range');
  return new Timestamp(nanos);
}

export function checkedDuration(nanos: bigint): Duration {
  if (nanos < -DURATION_LIMIT || nanos > DURATION_LIMIT) throw new EvalError('duration out of range');
  return new Duration(nanos);
}

/** Binary arithmetic: + - * / % (rules.Integer, rules.Float, rules.String, rules.List, rules.Timestamp, rules.Duration). */
export function arithmetic(op: '+' | '-' | '*' | '/' | '%', a: RValue, b: RValue): RValue {
  if (a instanceof Unknown) throw unknownUse(a);
  if (b instanceof Unknown) throw unknownUse(b);
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    switch (op) {
      case '+':
        return checkedInt(a + b);
      case '-':
        return checkedInt(a - b);
      case '*':
        return checkedInt(a * b);
      case '/':
        if (b === 0n) throw new EvalError('division by zero');
        return checkedInt(a / b); // bigint division truncates toward zero
      case '%':
        if (b === 0n) throw new EvalError('modulo by zero');
        return a % b; // sign of the dividend, as truncating division implies
    }
  }
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number')) {
    // An int meeting a float is coerced to float (rules.Integer).
    const p = Number(a);
    const q = Number(b);
    switch (op) {
      case '+':
        return p + q;
      case '-':
        return p - q;
      case '*':
        return p * q;
      case '/':
        return p / q;
      case '%':
        return p % q;
    }
  }
  if (op === '+') {
    if (typeof a === 'string' && typeof b === 'string') return a + b;
    if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
    if (a instanceof Timestamp && b instanceof Duration) return checkedTimestamp(a.nanos + b.nanos);
    if (a instanceof Duration && b instanceof Timestamp) return checkedTimestamp(a.nanos + b.nanos);
    if (a instanceof Duration && b instanceof Duration) return checkedDuration(a.nanos + b.nanos);
  }
  if (op === '-') {
    if (a instanceof Timestamp && b instanceof Duration) return checkedTimestamp(a.nanos - b.nanos);
    if (a instanceof Timestamp && b instanceof Timestamp) return checkedDuration(a.nanos - b.nanos);
    if (a instanceof Duration && b instanceof Duration) return checkedDuration(a.nanos - b.nanos);
  }
  throw new EvalError(`operator ${op} is not defined for ${typeName(a)} and ${typeName(b)}`);
}

export function negate(v: RValue): RValue {
  if (v instanceof Unknown) throw unknownUse(v);
  if (typeof v === 'bigint') return checkedInt(-v);
  if (typeof v === 'number') return -v;
  if (v instanceof Duration) return checkedDuration(-v.nanos);
  throw new EvalError(`unary - is not defined for ${typeName(v)}`);
}

export function relational(op: '<' | '<=' | '>' | '>=', a: RValue, b: RValue): boolean {
  const c = compare(a, b);
  if (Number.isNaN(c)) return false;
  switch (op) {
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
  }
}

/** `v in x` for lists, sets, maps (keys) and, in queries, array fields known from array-contains. */
export function contains(container: RValue, v: RValue): boolean {
  if (Array.isArray(container)) return container.some((item) => equals(item, v));
  if (container instanceof RSet) return setHas(container, v);
  if (container instanceof RMap) {
    if (typeof v !== 'string') throw new EvalError(`map keys are strings, not ${typeName(v)}`);
    return container.get(v) !== undefined;
  }
  if (container instanceof PartialMap) {
    if (typeof v === 'string' && container.known.has(v)) return true;
    throw unknownUse(new Unknown(`whether ${container.what} has the key ${render(v)}`));
  }
  if (container instanceof ContainsList) {
    if (equals(container.element, v)) return true;
    throw unknownUse(new Unknown(`whether ${container.what} contains ${render(v)}`));
  }
  if (container instanceof Unknown) throw unknownUse(container);
  throw new EvalError(`operator in is not defined for ${typeName(container)}`);
}

// ---------------------------------------------------------------------------------------------------------
// Indexing

export function index(object: RValue, key: RValue): RValue {
  if (Array.isArray(object) || typeof object === 'string') return object[checkIndex(key, object.length)];
  if (object instanceof RPath) {
    if (typeof key !== 'bigint') throw new EvalError('path binding names are not supported; index a path by segment number');
    return object.segments[checkIndex(key, object.segments.length)];
  }
  if (object instanceof RMap || object instanceof PartialMap) {
    if (typeof key !== 'string') throw new EvalError(`map keys are strings, not ${typeName(key)}`);
    return field(object, key);
  }
  if (object instanceof Unknown) throw unknownUse(object);
  if (object instanceof ContainsList) throw unknownUse(new Unknown(`the rest of ${object.what}`));
  throw new EvalError(`${typeName(object)} cannot be indexed`);
}

function checkIndex(key: RValue, size: number): number {
  if (typeof key !== 'bigint') throw new EvalError(`index must be an int, not ${typeName(key)}`);
  if (key < 0n || key >= BigInt(size)) throw new EvalError(`index ${key} out of range [0, ${size})`);
  return Number(key);
}

/** `x.f` and `x['f']` on a map: a missing key is an error ("Property f is undefined on object."). */
export function field(object: RValue, name: string): RValue {
  if (object instanceof RMap) {
    const v = object.get(name);
    if (v === undefined) throw new EvalError(`Property ${name} is undefined on object.`);
    return v;
  }
  if (object instanceof PartialMap) {
    const v = object.known.get(name);
    return v === undefined ? new Unknown(`${object.what}.${name}`) : v;
  }
  if (object === null) throw new EvalError(`Null value error: cannot read property ${name} of null.`);
  if (object instanceof Unknown) throw unknownUse(object);
  throw new EvalError(`Property ${name} is undefined on ${typeName(object)}.`);
}

/** `x[i:j]` on lists and strings; j is exclusive and 0 <= i <= j <= size is required. */
export function slice(object: RValue, from: RValue, to: RValue): RValue {
  if (object instanceof Unknown) throw unknownUse(object);
  if (object instanceof ContainsList) throw unknownUse(new Unknown(`the rest of ${object.what}`));
  if (typeof object !== 'string' && !Array.isArray(object)) throw new EvalError(`${typeName(object)} cannot be sliced`);
  if (typeof from !== 'bigint' || typeof to !== 'bigint') throw new EvalError('slice bounds must be ints');
  const size = BigInt(object.length);
  if (from < 0n || to < from || to > size) throw new EvalError(`slice [${from}:${to}] out of range for size ${size}`);
  return object.slice(Number(from), Number(to));
}

// ---------------------------------------------------------------------------------------------------------
// Type methods

export function callMethod(receiver: RValue, name: string, args: RValue[]): RValue {
  const t = typeOf(receiver);
  const methods = TYPE_METHODS[t === 'partial_map' ? 'map' : t === 'contains_list' ? 'list' : t];
  const arities = methods?.[name];
  if (!arities) throw new EvalError(`${typeName(receiver)} has no method ${name}()`);
  if (!arities.includes(args.length)) throw new EvalError(`${typeName(receiver)}.${name}() takes ${arities.join(' or ')} arguments, not ${args.length}`);
  if (typeof receiver === 'string') return stringMethod(receiver, name, args);
  if (Array.isArray(receiver)) return listMethod(receiver, name, args);
  if (receiver instanceof Uint8Array) return bytesMethod(receiver, name);
  if (receiver !== null && typeof receiver === 'object') {
    switch (receiver.kind) {
      case 'partial_map':
        return partialMapMethod(receiver, name, args);
      case 'contains_list':
        throw unknownUse(new Unknown(`the rest of ${receiver.what}`));
      case 'map':
        return mapMethod(receiver, name, args);
      case 'set':
        return setMethod(receiver, name, args);
      case 'map_diff':
        return mapDiffMethod(receiver, name);
      case 'path':
        return bindPath(receiver, args[0]);
      case 'duration':
        return durationMethod(receiver, name);
      case 'timestamp':
        return timestampMethod(receiver, name);
      case 'latlng':
        return latLngMethod(receiver, name, args);
    }
  }
  // Not reached: null, bool, int and float have no entry in TYPE_METHODS and typeOf refused an Unknown.
  throw new EvalError(`${typeName(receiver)} has no method ${name}()`);
}

/** The error for an argument of the wrong type; an argument the query leaves unknown is the error of using it. */
function wrongType(v: RValue, type: TypeTag, what: string): EvalError {
  if (v instanceof Unknown) return unknownUse(v);
  if (v instanceof ContainsList) return unknownUse(new Unknown(`the rest of ${v.what}`));
  if (v instanceof PartialMap) return unknownUse(new Unknown(`the rest of ${v.what}`));
  return new EvalError(`${what} must be a ${type}, not ${typeName(v)}`);
}

function stringArg(v: RValue, what: string): string {
  if (typeof v === 'string') return v;
  throw wrongType(v, 'string', what);
}

function listArg(v: RValue, what: string): RValue[] {
  if (Array.isArray(v)) return v;
  throw wrongType(v, 'list', what);
}

function mapArg(v: RValue, what: string): RMap {
  if (v instanceof RMap) return v;
  throw wrongType(v, 'map', what);
}

function setArg(v: RValue, what: string): RSet {
  if (v instanceof RSet) return v;
  throw wrongType(v, 'set', what);
}

function durationArg(v: RValue, what: string): Duration {
  if (v instanceof Duration) return v;
  throw wrongType(v, 'duration', what);
}

function latLngArg(v: RValue, what: string): LatLng {
  if (v instanceof LatLng) return v;
  throw wrongType(v, 'latlng', what);
}

// rules.String ---------------------------------------------------------------------------------------------

const regexCache = new Map<string, RE2JS>();

function regex(pattern: RValue): RE2JS {
  const source = stringArg(pattern, 'regular expression');
  let compiled = regexCache.get(source);
  if (!compiled) {
    try {
      compiled = RE2JS.compile(source);
    } catch (error) {
      throw new EvalError(`invalid regular expression ${JSON.stringify(source)}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(source, compiled);
  }
  return compiled;
}

function stringMethod(s: string, name: string, args: RValue[]): RValue {
  switch (name) {
    case 'size':
      return BigInt(s.length); // UTF-16 code units
    case 'lower':
      return s.toLowerCase();
    case 'upper':
      return s.toUpperCase();
    case 'trim':
      // Undocumented beyond "leading and trailing spaces": characters up to U+0020, as Java's String.trim().
      // eslint-disable-next-line no-control-regex -- trim() of the rules language strips exactly U+0000..U+0020
      return s.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '');
    case 'toUtf8':
      return new Uint8Array(Buffer.from(s, 'utf8'));
    case 'matches':
      return regex(args[0]).matches(s); // whole-string match
    case 'split':
      // RE2J Pattern.split: trailing empty strings are dropped ('a/b/'.split('/') == ['a', 'b']).
      return regex(args[0]).split(s);
    case 'replace': {
      const sub = stringArg(args[1], 'replacement');
      // Undocumented: whether `sub` expands group references. Refused rather than guessed.
      if (/[$\\]/.test(sub)) throw new EvalError('string.replace(): group references ($ or \\) in the replacement are not supported');
      return regex(args[0])
        .matcher(s)
        .replaceAll(() => sub);
    }
  }
  throw new EvalError(`string has no method ${name}()`);
}

// rules.List -----------------------------------------------------------------------------------------------

function listMethod(list: RValue[], name: string, args: RValue[]): RValue {
  switch (name) {
    case 'size':
      return BigInt(list.length);
    case 'toSet':
      return toSet(list);
    case 'concat':
      return [...list, ...listArg(args[0], 'concat() argument')];
    case 'hasAll':
      return listArg(args[0], 'hasAll() argument').every((x) => list.some((y) => equals(x, y)));
    case 'hasAny':
      return listArg(args[0], 'hasAny() argument').some((x) => list.some((y) => equals(x, y)));
    case 'hasOnly': {
      const allowed = listArg(args[0], 'hasOnly() argument');
      return list.every((x) => allowed.some((y) => equals(x, y)));
    }
    case 'removeAll': {
      const remove = listArg(args[0], 'removeAll() argument');
      return list.filter((x) => !remove.some((y) => equals(x, y)));
    }
    case 'join': {
      const separator = stringArg(args[0], 'join() separator');
      return list.map((x) => stringArg(x, 'each joined element')).join(separator);
    }
  }
  throw new EvalError(`list has no method ${name}()`);
}

// rules.Map and rules.MapDiff --------------------------------------------------------------------------------

function mapMethod(map: RMap, name: string, args: RValue[]): RValue {
  switch (name) {
    case 'size':
      return BigInt(map.size);
    case 'keys':
      return map.keys();
    case 'values':
      return Array.from(map.entries(), ([, value]) => value);
    case 'diff':
      return new MapDiff(map, mapArg(args[0], 'diff() argument'));
    case 'get':
      return mapGet(map, args[0], args[1]);
  }
  throw new EvalError(`map has no method ${name}()`);
}

function partialMapMethod(map: PartialMap, name: string, args: RValue[]): RValue {
  if (name === 'get') return mapGet(map, args[0], args[1]);
  throw unknownUse(new Unknown(`${map.what}.${name}()`));
}

/**
 * Map.get(key, default); a list key looks up nested maps ({"a": {"b": 1}}.get(["a", "b"], 7) == 1). A key a
 * partly known map (a query's resource.data) does not know is unknown, never the default.
 */
function mapGet(map: RMap | PartialMap, key: RValue, fallback: RValue): RValue {
  const keys: RValue[] = typeof key === 'string' ? [key] : listArg(key, 'get() key');
  let current: RValue = map;
  for (const k of keys) {
    if (typeof k !== 'string') throw new EvalError(`get() key path elements must be strings, not ${typeName(k)}`);
    if (current instanceof Unknown) throw unknownUse(current);
    if (current instanceof PartialMap) {
      const known = current.known.get(k);
      if (known === undefined) throw unknownUse(new Unknown(`${current.what}.${k}`));
      current = known;
      continue;
    }
    // As production: a key path through a value that is not a map finds nothing, so the default.
    if (!(current instanceof RMap)) return fallback;
    const next: RValue | undefined = current.get(k);
    if (next === undefined) return fallback;
    current = next;
  }
  return current;
}

function mapDiffMethod(diff: MapDiff, name: string): RValue {
  const { left, right } = diff;
  const leftKeys = left.keys();
  const rightKeys = right.keys();
  const added = leftKeys.filter((k) => right.get(k) === undefined);
  const removed = rightKeys.filter((k) => left.get(k) === undefined);
  const common = leftKeys.filter((k) => right.get(k) !== undefined);
  const changed = common.filter((k) => {
    const before = left.get(k);
    const after = right.get(k);
    return before !== undefined && after !== undefined && !equals(before, after);
  });
  switch (name) {
    case 'addedKeys':
      return new RSet(added);
    case 'removedKeys':
      return new RSet(removed);
    case 'changedKeys':
      return new RSet(changed);
    case 'unchangedKeys':
      return new RSet(common.filter((k) => !changed.includes(k)));
    case 'affectedKeys':
      return new RSet([...added, ...removed, ...changed]);
  }
  throw new EvalError(`map_diff has no method ${name}()`);
}

// rules.Set ------------------------------------------------------------------------------------------------

function setOrListItems(v: RValue, what: string): RValue[] {
  if (v instanceof RSet) return v.items;
  if (Array.isArray(v)) return v;
  throw new EvalError(`${what} must be a set or a list, not ${typeName(v)}`);
}

function setMethod(set: RSet, name: string, args: RValue[]): RValue {
  switch (name) {
    case 'size':
      return BigInt(set.items.length);
    case 'hasAll':
      return setOrListItems(args[0], 'hasAll() argument').every((x) => setHas(set, x));
    case 'hasAny':
      return setOrListItems(args[0], 'hasAny() argument').some((x) => setHas(set, x));
    case 'hasOnly': {
      const allowed = setOrListItems(args[0], 'hasOnly() argument');
      return set.items.every((x) => allowed.some((y) => equals(x, y)));
    }
    case 'union':
      return toSet([...set.items, ...setArg(args[0], 'union() argument').items]);
    case 'intersection': {
      const other = setArg(args[0], 'intersection() argument');
      return new RSet(set.items.filter((x) => setHas(other, x)));
    }
    case 'difference': {
      // ['a','b'].toSet().difference(['a','c'].toSet()) == ['b'].toSet(): elements of this set not in the other.
      const other = setArg(args[0], 'difference() argument');
      return new RSet(set.items.filter((x) => !setHas(other, x)));
    }
  }
  throw new EvalError(`set has no method ${name}()`);
}

// rules.Path -----------------------------------------------------------------------------------------------

/**
 * Path.bind() on a path value fills its `{name}` segments (`path('users/{uid}').bind({'uid': 'alice'})`, as
 * production does) and keeps every other segment; a path literal with open `$(name)` segments as the receiver
 * of bind() is compiled into its own node (see compiler.ts), so no open path escapes.
 */
function bindPath(path: RPath, bindings: RValue): RValue {
  const map = mapArg(bindings, 'bind() argument');
  const segments: (string | Unknown)[] = [];
  for (const segment of path.segments) {
    const variable = typeof segment === 'string' ? /^\{(\w+)\}$/.exec(segment) : null;
    if (variable === null) {
      segments.push(segment);
      continue;
    }
    const value = map.get(variable[1]);
    if (value === undefined) throw new EvalError(`bind(): no value for path variable ${variable[1]}`);
    segments.push(...pathSegment(value));
  }
  return new RPath(segments);
}

/** The segment(s) a value contributes to a path through `$(...)` interpolation. */
export function pathSegment(v: RValue): (string | Unknown)[] {
  if (v instanceof Unknown) throw unknownUse(v);
  if (typeof v === 'string') {
    // Undocumented: whether a '/' inside an interpolated string splits segments. Refused rather than guessed.
    if (v === '' || v.includes('/')) throw new EvalError(`path segment ${JSON.stringify(v)} must be non-empty and contain no '/'`);
    return [v];
  }
  if (typeof v === 'bigint') return [String(v)];
  if (v instanceof RPath) return [...v.segments];
  throw new EvalError(`a ${typeName(v)} cannot be interpolated into a path`);
}

// rules.Bytes ----------------------------------------------------------------------------------------------

function bytesMethod(bytes: Uint8Array, name: string): RValue {
  switch (name) {
    case 'size':
      return BigInt(bytes.length);
    case 'toHexString':
      return Buffer.from(bytes).toString('hex').toUpperCase();
    case 'toBase64':
      // base64url alphabet per the reference (b'\xFB\xEF\xBE'.toBase64() == '----'). Undocumented: padding; kept, as RFC 4648 §5 does.
      return Buffer.from(bytes).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
  }
  throw new EvalError(`bytes has no method ${name}()`);
}

// rules.Duration and rules.Timestamp -----------------------------------------------------------------------

function durationMethod(d: Duration, name: string): RValue {
  // seconds() and nanos() are signed parts: -1.5s is -1 seconds and -500000000 nanos.
  if (name === 'seconds') return d.nanos / NANOS;
  if (name === 'nanos') return d.nanos % NANOS;
  throw new EvalError(`duration has no method ${name}()`);
}

const NANOS_PER_DAY = 86_400n * NANOS;

function timestampMethod(t: Timestamp, name: string): RValue {
  const date = new Date(Number(floorDiv(t.nanos, 1_000_000n)));
  switch (name) {
    case 'year':
      return BigInt(date.getUTCFullYear());
    case 'month':
      return BigInt(date.getUTCMonth() + 1);
    case 'day':
      return BigInt(date.getUTCDate());
    case 'hours':
      return BigInt(date.getUTCHours());
    case 'minutes':
      return BigInt(date.getUTCMinutes());
    case 'seconds':
      // Seconds of the minute, like hours() and minutes() are parts of the time of day.
      return BigInt(date.getUTCSeconds());
    case 'nanos':
      return floorMod(t.nanos, NANOS);
    case 'dayOfWeek':
      // Undocumented which day is 1; ISO-8601 (Monday = 1 .. Sunday = 7), as java.time.DayOfWeek.
      return BigInt(((date.getUTCDay() + 6) % 7) + 1);
    case 'dayOfYear': {
      const start = Date.UTC(0, 0, 1);
      const jan1 = new Date(start);
      jan1.setUTCFullYear(date.getUTCFullYear());
      return BigInt(Math.floor((date.getTime() - jan1.getTime()) / 86_400_000) + 1);
    }
    case 'date':
      return new Timestamp(floorDiv(t.nanos, NANOS_PER_DAY) * NANOS_PER_DAY);
    case 'time':
      return new Duration(floorMod(t.nanos, NANOS_PER_DAY));
    case 'toMillis':
      return floorDiv(t.nanos, 1_000_000n);
  }
  throw new EvalError(`timestamp has no method ${name}()`);
}

// rules.LatLng ---------------------------------------------------------------------------------------------

/** Undocumented: the Earth radius behind distance(); the mean radius S2 uses (6,371,010 m). */
const EARTH_RADIUS_METERS = 6_371_010;

function latLngMethod(p: LatLng, name: string, args: RValue[]): RValue {
  switch (name) {
    case 'latitude':
      return p.lat;
    case 'longitude':
      return p.lng;
    case 'distance': {
      const q = latLngArg(args[0], 'distance() argument');
      const rad = Math.PI / 180;
      const dLat = (q.lat - p.lat) * rad;
      const dLng = (q.lng - p.lng) * rad;
      const h = Math.sin(dLat / 2) ** 2 + Math.cos(p.lat * rad) * Math.cos(q.lat * rad) * Math.sin(dLng / 2) ** 2;
      return 2 * EARTH_RADIUS_METERS * Math.asin(Math.min(1, Math.sqrt(h)));
    }
  }
  throw new EvalError(`latlng has no method ${name}()`);
}

// ---------------------------------------------------------------------------------------------------------
// Global conversion functions and namespace functions

function numberArg(v: RValue, what: string): number {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return v;
  throw new EvalError(`${what} must be a number, not ${typeName(v)}`);
}

function intArg(v: RValue, what: string): bigint {
  if (typeof v !== 'bigint') throw new EvalError(`${what} must be an int, not ${typeName(v)}`);
  return v;
}

function floatToInt(f: number): bigint {
  if (!Number.isFinite(f)) throw new EvalError(`${formatFloat(f)} cannot be converted to int`);
  return checkedInt(BigInt(Math.trunc(f)));
}

/** int(), float(), string(), bool(), path() (rules.Integer, rules.Float, rules.String, rules.Boolean, rules.Path). */
export function convert(name: string, v: RValue): RValue {
  switch (name) {
    case 'int':
      if (typeof v === 'bigint') return v;
      if (typeof v === 'number') return floatToInt(v);
      if (typeof v === 'string') {
        if (!/^[+-]?\d+$/.test(v)) throw new EvalError(`int(): ${JSON.stringify(v)} is not an integer`);
        return checkedInt(BigInt(v));
      }
      break;
    case 'float':
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(v);
      if (typeof v === 'string') {
        if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) throw new EvalError(`float(): ${JSON.stringify(v)} is not a number`);
        return Number(v);
      }
      break;
    case 'string':
      if (typeof v === 'string') return v;
      if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
      if (typeof v === 'number') return formatFloat(v);
      if (v === null) return 'null';
      break;
    case 'bool':
      throw absentInProduction('bool');
    case 'path':
      // Only a string: production refuses path(path(...)) ("Expected: path(string)").
      if (typeof v === 'string') {
        const segments = v.replace(/^\//, '').split('/');
        if (segments.some((s) => s === '')) throw new EvalError(`path(): ${JSON.stringify(v)} has an empty segment`);
        return new RPath(segments);
      }
      throw new EvalError(`Expected: path(string), got path(${typeName(v)})`);
  }
  throw new EvalError(`${name}() cannot convert ${typeName(v)}${typeof v === 'string' ? ` ${JSON.stringify(v)}` : ''}`);
}

export function namespaceFunction(namespace: string, name: string, args: RValue[]): RValue {
  const qualified = `${namespace}.${name}`;
  switch (qualified) {
    // rules.math
    case 'math.abs': {
      const [v] = args;
      if (typeof v === 'bigint') return checkedInt(v < 0n ? -v : v);
      return Math.abs(numberArg(v, 'math.abs() argument'));
    }
    case 'math.ceil':
    case 'math.floor':
    case 'math.round': {
      const [v] = args;
      if (typeof v === 'bigint') return v;
      const f = numberArg(v, `${qualified}() argument`);
      if (name === 'ceil') return floatToInt(Math.ceil(f));
      if (name === 'floor') return floatToInt(Math.floor(f));
      // Half away from zero: round(2.5) == 3 per the reference; Undocumented for negatives, symmetric here.
      return floatToInt(Math.sign(f) * Math.round(Math.abs(f)));
    }
    case 'math.sqrt':
      return Math.sqrt(numberArg(args[0], 'math.sqrt() argument'));
    case 'math.pow':
      return Math.pow(numberArg(args[0], 'math.pow() base'), numberArg(args[1], 'math.pow() exponent'));
    case 'math.isInfinite':
      throw absentInProduction(qualified);
    case 'math.isNaN':
      return Number.isNaN(numberArg(args[0], 'math.isNaN() argument'));
    // rules.hashing
    case 'hashing.crc32':
    case 'hashing.crc32c':
    case 'hashing.md5':
    case 'hashing.sha256':
      return hash(name, args[0]);
    // rules.duration
    case 'duration.abs': {
      const d = durationArg(args[0], 'duration.abs() argument');
      return checkedDuration(d.nanos < 0n ? -d.nanos : d.nanos);
    }
    case 'duration.time': {
      const [h, m, s, ns] = args.map((a, i) => intArg(a, `duration.time() argument ${i + 1}`));
      return checkedDuration(((h * 60n + m) * 60n + s) * NANOS + ns);
    }
    case 'duration.value': {
      const magnitude = intArg(args[0], 'duration.value() magnitude');
      const unit = stringArg(args[1], 'duration.value() unit');
      const perUnit = Object.hasOwn(DURATION_UNITS, unit) ? DURATION_UNITS[unit] : undefined;
      if (perUnit === undefined) throw new EvalError(`duration.value(): unknown unit ${JSON.stringify(unit)} (w, d, h, m, s, ms, ns)`);
      return checkedDuration(magnitude * perUnit);
    }
    // rules.timestamp
    case 'timestamp.value':
      return checkedTimestamp(intArg(args[0], 'timestamp.value() argument') * 1_000_000n);
    case 'timestamp.date': {
      const [y, m, d] = args.map((a, i) => Number(intArg(a, `timestamp.date() argument ${i + 1}`)));
      const date = new Date(Date.UTC(2000, 0, 1));
      date.setUTCFullYear(y, m - 1, d);
      if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) {
        throw new EvalError(`timestamp.date(${y}, ${m}, ${d}) is not a valid date`);
      }
      return checkedTimestamp(BigInt(date.getTime()) * 1_000_000n);
    }
    // rules.latlng
    case 'latlng.value': {
      const lat = numberArg(args[0], 'latlng.value() latitude');
      const lng = numberArg(args[1], 'latlng.value() longitude');
      if (!(lat >= -90 && lat <= 90) || !(lng >= -180 && lng <= 180)) throw new EvalError(`latlng.value(${lat}, ${lng}) is out of range`);
      return new LatLng(lat, lng);
    }
  }
  throw new EvalError(`unknown function ${qualified}()`);
}

const DURATION_UNITS: Readonly<Record<string, bigint>> = {
  w: 7n * 86_400n * NANOS,
  d: 86_400n * NANOS,
  h: 3_600n * NANOS,
  m: 60n * NANOS,
  s: NANOS,
  ms: 1_000_000n,
  ns: 1n,
};

// rules.hashing ------------------------------------------------------------------------------------------

function crcTable(polynomial: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? polynomial ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

const CRC32_TABLE = crcTable(0xedb88320);
const CRC32C_TABLE = crcTable(0x82f63b78);

function crc(table: Uint32Array, bytes: Uint8Array): Uint8Array {
  let c = 0xffffffff;
  for (const b of bytes) c = table[(c ^ b) & 0xff] ^ (c >>> 8);
  c = (c ^ 0xffffffff) >>> 0;
  // Little-endian, as production: crc32('123456789').toHexString() == '2639F4CB' (the checksum is 0xCBF43926).
  return new Uint8Array([c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, c >>> 24]);
}

function hash(algorithm: string, input: RValue): Uint8Array {
  let bytes: Uint8Array;
  if (typeof input === 'string') bytes = Buffer.from(input, 'utf8');
  else if (input instanceof Uint8Array) bytes = input;
  else throw new EvalError(`hashing.${algorithm}() takes bytes or a string, not ${typeName(input)}`);
  switch (algorithm) {
    case 'crc32':
      return crc(CRC32_TABLE, bytes);
    case 'crc32c':
      return crc(CRC32C_TABLE, bytes);
    default:
      return new Uint8Array(createHash(algorithm).update(bytes).digest());
  }
}
