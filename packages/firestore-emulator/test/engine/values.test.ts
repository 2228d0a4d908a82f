import { describe, expect, it } from 'vitest';
import { Code, ValidValue, Value } from '../../src/engine';
import { NameParser, compareUtf8 } from '../../src/engine/paths';
import { compareValues, documentSize, normalizeValue, parseFieldPath, formatFieldPath, valuesEqual, valuesEquivalent } from '../../src/engine/values';
import { arr, bool, bytes, dbl, geo, int, map, nul, ref, str, ts, vector, PROJECT } from './helpers';

const names = new NameParser(PROJECT, '(default)');

/** Firestore's documented cross-type order, with in-type orders; each row sorts strictly before the next. */
const ORDERED: [string, ValidValue][] = [
  ['null', nul()],
  ['false', bool(false)],
  ['true', bool(true)],
  ['NaN', dbl(NaN)],
  ['-Infinity', dbl(-Infinity)],
  ['min int64', int('-9223372036854775808')],
  ['-1.5', dbl(-1.5)],
  ['-1', int(-1)],
  ['0', int(0)],
  ['0.5', dbl(0.5)],
  ['1', int(1)],
  ['2^53 + 1 (int)', int('9007199254740993')],
  ['max int64', int('9223372036854775807')],
  ['1e19', dbl(1e19)],
  ['Infinity', dbl(Infinity)],
  ['epoch', ts(0)],
  ['epoch + 1µs', ts(0, 1000)],
  ['2001', ts(978307200)],
  ['""', str('')],
  ['"a"', str('a')],
  ['"ab"', str('ab')],
  ['"b"', str('b')],
  ['"\\uFFFD" (BMP, 3 UTF-8 bytes)', str('\uFFFD')],
  ['"😀" (astral, 4 UTF-8 bytes; sorts after U+FFFD in UTF-8 though not in UTF-16)', str('😀')],
  ['bytes []', bytes()],
  ['bytes [0]', bytes(0)],
  ['bytes [1]', bytes(1)],
  ['bytes [255]', bytes(255)],
  ['ref a/a', ref('a/a')],
  ['ref a/a/b/a', ref('a/a/b/a')],
  ['ref a/b', ref('a/b')],
  ['ref b/a', ref('b/a')],
  ['geo (-90, 0)', geo(-90, 0)],
  ['geo (0, -180)', geo(0, -180)],
  ['geo (0, 10)', geo(0, 10)],
  ['geo (10, -10)', geo(10, -10)],
  ['[]', arr()],
  ['[null]', arr(nul())],
  ['[1]', arr(int(1))],
  ['[1, 1]', arr(int(1), int(1))],
  ['[2]', arr(int(2))],
  ['["a"]', arr(str('a'))],
  ['vector [9, 9]', vector(9, 9)],
  ['vector [1, 1, 1] (longer vectors sort after)', vector(1, 1, 1)],
  ['vector [1, 1, 2]', vector(1, 1, 2)],
  ['{}', map({})],
  ['{a: 1}', map({ a: int(1) })],
  ['{a: 1, b: 0}', map({ a: int(1), b: int(0) })],
  ['{a: 2}', map({ a: int(2) })],
  ['{b: 0}', map({ b: int(0) })],
];

describe('value order', () => {
  it('orders every pair of the table as documented', () => {
    for (let i = 0; i < ORDERED.length; i++) {
      for (let j = 0; j < ORDERED.length; j++) {
        const order = Math.sign(compareValues(ORDERED[i][1], ORDERED[j][1]));
        expect(order, `${ORDERED[i][0]} vs ${ORDERED[j][0]}`).toBe(Math.sign(i - j));
      }
    }
  });

  it('compares integers and doubles numerically, -0 equal to 0, NaN equal to NaN', () => {
    expect(compareValues(int(1), dbl(1))).toBe(0);
    expect(compareValues(dbl(-0), int(0))).toBe(0);
    expect(compareValues(dbl(-0), dbl(0))).toBe(0);
    expect(compareValues(dbl(NaN), dbl(NaN))).toBe(0);
    expect(compareValues(int('9007199254740993'), dbl(9007199254740992))).toBe(1);
    expect(compareValues(int('-9007199254740993'), dbl(-9007199254740992))).toBe(-1);
    expect(compareValues(int(3), dbl(3.5))).toBe(-1);
    expect(compareValues(dbl(3.5), int(3))).toBe(1);
  });

  it('compares strings by UTF-8 bytes', () => {
    expect(compareUtf8('\uFFFD', '😀')).toBeLessThan(0);
    expect('\uFFFD' < '😀').toBe(false); // UTF-16 order disagrees, which is why compareUtf8 exists
    expect(compareUtf8('a', 'a\u0000')).toBeLessThan(0);
  });
});

describe('value equality', () => {
  it('filters: numeric across types, -0 == 0, NaN equal to nothing', () => {
    expect(valuesEqual(int(1), dbl(1))).toBe(true);
    expect(valuesEqual(dbl(-0), int(0))).toBe(true);
    expect(valuesEqual(dbl(NaN), dbl(NaN))).toBe(false);
    expect(valuesEqual(arr(dbl(NaN)), arr(dbl(NaN)))).toBe(false);
    expect(valuesEqual(nul(), nul())).toBe(true);
    expect(valuesEqual(str('1'), int(1))).toBe(false);
    expect(valuesEqual(map({ a: int(1) }), map({ a: dbl(1) }))).toBe(true);
  });

  it('array transforms: numeric across types and NaN equal to NaN', () => {
    expect(valuesEquivalent(dbl(NaN), dbl(NaN))).toBe(true);
    expect(valuesEquivalent(int(3), dbl(3))).toBe(true);
    expect(valuesEquivalent(nul(), nul())).toBe(true);
    expect(valuesEquivalent(bool(false), int(0))).toBe(false);
  });
});

describe('value validation', () => {
  const normalize = (value: Value) => normalizeValue(value, 'f', names);
  const rejects = (value: Value, message: RegExp) => {
    let error: unknown;
    try {
      normalize(value);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: Code.INVALID_ARGUMENT });
    expect((error as Error).message).toMatch(message);
  };

  it('stores integers canonically and timestamps truncated to microseconds', () => {
    expect(normalize(int('007'))).toEqual(int(7));
    expect(normalize({ integerValue: 42 })).toEqual(int(42));
    expect(normalize(ts(1, 123456789))).toEqual({ timestampValue: { seconds: '1', nanos: 123456000 } });
  });

  it('rejects out-of-range integers, timestamps and geo points', () => {
    rejects(int('9223372036854775808'), /64-bit integer/);
    rejects(int('12abc'), /64-bit integer/);
    rejects(ts(253402300800), /seconds out of range/);
    rejects(ts(0, 1_000_000_000), /nanos out of range/);
    rejects(geo(91, 0), /latitude/);
    rejects(geo(0, 181), /longitude/);
  });

  it('rejects strings that are not valid UTF-8 (lone surrogates), in values and in map keys', () => {
    rejects(str('a\uD800b'), /UTF-8/);
    rejects(map({ ['\uDC00']: int(1) }), /UTF-8/);
  });

  it('rejects a value that sets two members of its oneof, and stores one that sets one as a copy with only it', () => {
    rejects({ stringValue: 'a', integerValue: '1' }, /sets both "stringValue" and "integerValue"/);
    rejects(
      { mapValue: { fields: { inner: { booleanValue: true, nullValue: 'NULL_VALUE' } } } },
      /f\.inner: the value sets both "booleanValue" and "nullValue"/,
    );
    // An unset member (null, as protobuf.js's types allow) is no second member.
    const sent: Value = { booleanValue: false, stringValue: null };
    const stored = normalize(sent);
    expect(stored).toStrictEqual({ booleanValue: false });
    expect(stored).not.toBe(sent);
  });

  it('rejects arrays directly inside arrays, empty values, bad references, over-deep nesting', () => {
    rejects(arr(arr(int(1))), /array cannot directly contain another array/);
    rejects({}, /^f: Cannot convert firestore\.v1\.Value with type unset\.$/);
    // protobuf.js reads a member set to null as unset, as a JSON client's {"mapValue": null} is.
    rejects({ stringValue: null }, /^f: Cannot convert firestore\.v1\.Value with type unset\.$/);
    rejects({ mapValue: null, nullValue: undefined }, /^f: Cannot convert firestore\.v1\.Value with type unset\.$/);
    rejects({ referenceValue: 'not/a/reference' }, /not a valid document reference/);
    rejects({ referenceValue: `projects/${PROJECT}/databases/(default)/documents/a` }, /not a valid document reference/);
    let deep: ValidValue = int(1);
    for (let i = 0; i < 20; i++) deep = map({ a: deep });
    rejects(deep, /nested more than 20 levels/);
    let ok: ValidValue = int(1);
    for (let i = 0; i < 19; i++) ok = map({ a: ok });
    expect(() => normalize(ok)).not.toThrow();
    expect(() => normalize(arr(map({ a: arr(int(1)) })))).not.toThrow();
  });
});

describe('document size', () => {
  it('follows the documented example (users/jeff/tasks/my_task_id: 147 bytes)', () => {
    const size = documentSize(['users', 'jeff', 'tasks', 'my_task_id'], {
      type: str('Personal'),
      done: bool(false),
      priority: int(1),
      description: str('Learn Cloud Firestore'),
    });
    expect(size).toBe(147);
  });
});

describe('field paths', () => {
  it('parses simple and backquoted segments', () => {
    expect(parseFieldPath('a.b_1', 'f')).toEqual(['a', 'b_1']);
    expect(parseFieldPath('`a.b`.`c\\`d`.`e\\\\f`', 'f')).toEqual(['a.b', 'c`d', 'e\\f']);
    expect(parseFieldPath('`1`', 'f')).toEqual(['1']);
    expect(formatFieldPath(['a.b', 'c', '1x'])).toBe('`a.b`.c.`1x`');
  });

  it('rejects malformed paths', () => {
    for (const bad of ['', 'a.', '.a', 'a..b', '1a', 'a-b', '`a', '`a`b', '``']) {
      expect(() => parseFieldPath(bad, 'f'), bad).toThrow(/field path/);
    }
  });
});
