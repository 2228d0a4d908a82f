/**
 * Operators, types and library functions of the rules language, each case evaluated as the condition of
 * `allow get` through compileRules + AccessPolicy.authorizeGet. Expected values come from the examples and
 * statements of https://firebase.google.com/docs/reference/rules/<page> named in each describe().
 */
import { describe, expect, it } from 'vitest';
import { Double, Geo, Ref, evaluate, type Outcome } from './support';

type Case = [expression: string, expected: Outcome, data?: Record<string, unknown>];

function table(cases: Case[]): void {
  it.each(cases)('%s is %s', (expression, expected, data) => {
    const { outcome, decision } = evaluate(expression, { data: data ?? {} });
    expect(outcome, decision.allowed ? 'allowed' : decision.message).toBe(expected);
  });
}

describe('rules.Boolean: logic and short-circuit error semantics', () => {
  table([
    ['true', 'true'],
    ['false', 'false'],
    ['!false', 'true'],
    ['!1', 'error'],
    ['true || resource.data.missing == 1', 'true'],
    ['false && resource.data.missing == 1', 'false'],
    // An error is absorbed only by the operand that decides the result.
    ['resource.data.missing == 1 || true', 'true'],
    ['resource.data.missing == 1 && false', 'false'],
    ['resource.data.missing == 1 || false', 'error'],
    ['resource.data.missing == 1 && true', 'error'],
    ['1 || true', 'true'],
    ['1 && true', 'error'],
    ['true ? 1 == 1 : false', 'true'],
    ['false ? true : 2 > 3', 'false'],
    ['1 ? true : true', 'error'],
    // Production has no bool(): a call compiles and is an error.
    ['bool("true") == true', 'error'],
    ['bool("true") == true || true', 'true'],
    ['true == true && true != false', 'true'],
  ]);
});

describe('null', () => {
  table([
    ['null == null', 'true'],
    ['resource.data.n == null', 'true', { n: null }],
    ['null != 1', 'true'],
    ['resource.data.n.x == 1', 'error', { n: null }],
    ['null + 1 == 1', 'error'],
    ['null is string', 'false'],
  ]);
});

describe('rules.Integer: 64-bit, truncating division, overflow is an error', () => {
  table([
    ['1 + 2 == 3', 'true'],
    ['7 / 2 == 3', 'true'],
    ['-7 / 2 == -3', 'true'],
    ['7 % 3 == 1', 'true'],
    ['-7 % 3 == -1', 'true'],
    ['7 % -3 == 1', 'true'],
    ['2 * 3 - 1 == 5', 'true'],
    ['1 / 0 == 0', 'error'],
    ['1 % 0 == 0', 'error'],
    ['9223372036854775807 + 1 > 0', 'error'],
    ['-9223372036854775808 - 1 < 0', 'error'],
    ['-(-9223372036854775808) > 0', 'error'],
    ['9223372036854775807 * 2 > 0', 'error'],
    ['-9223372036854775808 < 0', 'true'],
    ['0x10 == 16', 'true'],
    ['1 == 1.0', 'true'],
    ['1 < 1.5', 'true'],
    ['2 + 1.5 == 3.5', 'true'],
    ['3 / 2.0 == 1.5', 'true'],
    ['int(2.7) == 2', 'true'],
    ['int(-2.7) == -2', 'true'],
    ['int("2") == 2', 'true'],
    ['int(2.0) == 2', 'true'],
    ['int("4x") == 4', 'error'],
    ['int(1e30) > 0', 'error'],
    ['5 is int && 5 is number', 'true'],
    ['5 is float', 'false'],
    ['resource.data.n == 9007199254740993', 'true', { n: 9007199254740993n }],
    ['resource.data.n is int', 'true', { n: 3 }],
  ]);
});

describe('rules.Float', () => {
  table([
    ['float("2.2") == 2.2', 'true'],
    ['float(2) == 2.0', 'true'],
    ['5.0 is float && 5.0 is number', 'true'],
    ['5.0 is int', 'false'],
    ['1e3 == 1000', 'true'],
    ['5.5 % 2.0 == 1.5', 'true'],
    ['math.isInfinite(1.0 / 0.0)', 'error'],
    ['(0.0 / 0.0) == (0.0 / 0.0)', 'false'],
    ['resource.data.x is float', 'true', { x: new Double(3) }],
    ['resource.data.x == 3', 'true', { x: new Double(3) }],
    ['-resource.data.x == -2.5', 'true', { x: 2.5 }],
  ]);
});

describe('rules.String', () => {
  table([
    ["'username' + '@domain.com' == 'username@domain.com'", 'true'],
    ["'abc'[0] == 'a'", 'true'],
    ["'abc'[0:3] == 'abc'", 'true'],
    ["'abc'[1:2] == 'b'", 'true'],
    ["'abc'[3] == 'c'", 'error'],
    ["'abc'[2:1] == ''", 'error'],
    ["'abc'[0:4] == 'abc'", 'error'],
    ["'ABC'.lower() == 'abc' && 'ABC123'.lower() == 'abc123'", 'true'],
    ["'abc'.upper() == 'ABC'", 'true'],
    ["'user@domain.com'.matches('.*@domain[.]com')", 'true'],
    ["'banana'.matches('.*@domain[.]com')", 'false'],
    // matches() is a whole-string match.
    ["'banana'.matches('an')", 'false'],
    ["'abc'.matches('(')", 'error'],
    ["'banana'.replace('a', 'o') == 'bonono'", 'true'],
    ["'banana'.replace('ana', 'ee') == 'beena'", 'true'],
    ["'foo@test.com'.replace('.', '-') == '------------'", 'true'],
    ["'a'.size() == 1 && 'abc'.size() == 3", 'true'],
    // size() counts UTF-16 code units.
    ["'\\uD83D\\uDE00'.size() == 2", 'true'],
    ["'a/b/c'.split('/') == ['a', 'b', 'c']", 'true'],
    ["'**'.toUtf8() == b'\\x2A\\x2A'", 'true'],
    ["'€'.toUtf8() == b'\\xE2\\x82\\xAC'", 'true'],
    ["' a '.trim() == 'a' && 'b'.trim() == 'b'", 'true'],
    ['string(true) == "true" && string(1) == "1" && string(2.0) == "2.0" && string(null) == "null"', 'true'],
    ["'a' < 'b' && 'abc' >= 'abc'", 'true'],
    ["'a' + 1 == 'a1'", 'error'],
    ["'\\u00e9' == 'é' && \"\\x41\" == 'A' && '\\101' == 'A'", 'true'],
    ["r'a\\n'.size() == 3", 'true'],
    ["\"it's\" == 'it\\'s'", 'true'],
  ]);
});

describe('rules.Bytes', () => {
  table([
    ["b'*' == b'\\x2A' && b'\\052' == b'*'", 'true'],
    ["b'€' == b'\\342\\202\\254' && b'€' == b'\\xE2\\x82\\xAC'", 'true'],
    ["b'\\xFF\\xFF'.size() == 2 && b'a'.size() == 1 && b'€'.size() == 3", 'true'],
    ["b'\\xFB\\xEF\\xBE'.toBase64() == '----'", 'true'],
    ["b'\\x2A'.toHexString() == '2A' && b'**'.toHexString() == '2A2A' && b'€'.toHexString() == 'E282AC'", 'true'],
    ["resource.data.b == b'\\x01\\x02' && resource.data.b is bytes", 'true', { b: new Uint8Array([1, 2]) }],
  ]);
});

describe('rules.List', () => {
  table([
    ['[1, 2] == [1, 2] && [1, 2] != [2, 1]', 'true'],
    ["'a' in ['a', 'b']", 'true'],
    ["'c' in ['a', 'b']", 'false'],
    ['[1, 2, 3][1] == 2', 'true'],
    ['[1, 2, 3][1:3] == [2, 3]', 'true'],
    ['[1][1] == 1', 'error'],
    ['[1][-1] == 1', 'error'],
    ['[1, 2].concat([3]) == [1, 2, 3]', 'true'],
    ['[1] + [2] == [1, 2]', 'true'],
    ["['a', 'b'].hasAll(['a']) && !['a', 'b'].hasAll(['a', 'c'])", 'true'],
    ["['a', 'b'].hasAny(['c', 'b']) && !['a', 'b'].hasAny(['c'])", 'true'],
    ["['a', 'b'].hasOnly(['a', 'c']) == false", 'true'],
    ["['a', 'b'].hasOnly(['a', 'b', 'c']) == true", 'true'],
    ["['a', 'b'].hasOnly(['b', 'a']) == true", 'true'],
    ["['a', 'a', 'b'].hasOnly(['a', 'b', 'b']) == true", 'true'],
    ["['a', 'b'].join('/') == 'a/b'", 'true'],
    ["[1].join(',') == '1'", 'error'],
    ['[1, 2, 3, 2].removeAll([2]) == [1, 3]', 'true'],
    ['[1, 2].size() == 2 && [].size() == 0', 'true'],
    ["['a', 'a', 'b'].toSet() == ['b', 'a'].toSet()", 'true'],
    ["['a', 'a', 'b'].toSet().size() == 2", 'true'],
    ["[1, 'a'] is list", 'true'],
    ['resource.data.tags.hasAll(["x"])', 'true', { tags: ['x', 'y'] }],
    ['[1 == 1, 2][0]', 'true'],
  ]);
});

describe('rules.Map', () => {
  table([
    ["{'a': 1} == {'a': 1} && {'a': 1} != {'a': 2}", 'true'],
    ["'a' in {'a': 1} && !('b' in {'a': 1})", 'true'],
    ["{'a': 1}.a == 1 && {'a': 1}['a'] == 1", 'true'],
    ["{'a': 1}.b == 1", 'error'],
    ["{'a': 1}['b'] == 1", 'error'],
    ["{'a': 1}.keys() == ['a']", 'true'],
    ["{'a': 1, 'b': 2}.values() == [1, 2]", 'true'],
    ["{'a': 1}.size() == 1 && {}.size() == 0", 'true'],
    ['{"a": 3,"b": 2}.get("c", 7) == 7', 'true'],
    ['{"a": [2, 7], "b": [9, 12]}.get("c", [1, 1]) == [1, 1]', 'true'],
    ['{"a": [2, 7],"b": [9, 12]}.get("b", [1, 1]) == [9, 12]', 'true'],
    ['{"a": {"b": 1},"c": 2}.get(["a", "b"], 7) == 1', 'true'],
    ['{"a": {"b": 1}}.get(["a", "x"], 7) == 7', 'true'],
    ['{"a": "text"}.get(["a", "b"], 7) == 7 && {"a": 1}.get(["a", "b"], 7) == 7', 'true'],
    ['{1: 2}.size() == 1', 'error'],
    ["{'a': 1, 'a': 2}.size() == 1", 'error'],
    ['resource.data.m.x == 1 && resource.data.m is map', 'true', { m: { x: 1 } }],
    ['resource.data.keys().hasOnly(["a", "b"])', 'true', { a: 1, b: 2 }],
    ['resource.data.missing == 1', 'error'],
  ]);
});

describe('rules.MapDiff', () => {
  table([
    ['{"a":1}.diff({}).addedKeys() == ["a"].toSet()', 'true'],
    ['({"a":0, "c":0, "u":0}).diff({"r":0, "c":1, "u": 0}).affectedKeys() == ["a", "r", "c"].toSet()', 'true'],
    ['{"a":0}.diff({"a":1, "b":4}).changedKeys() == ["a"].toSet()', 'true'],
    ['{}.diff({"a":1}).removedKeys() == ["a"].toSet()', 'true'],
    ['{"a": 0}.diff({"a":0}).unchangedKeys() == ["a"].toSet()', 'true'],
    ['{"a": {"x": 1}}.diff({"a": {"x": 1}}).affectedKeys().size() == 0', 'true'],
  ]);
});

describe('rules.Set', () => {
  table([
    ["['a','b'].toSet().size() == 2", 'true'],
    ["'a' in ['a','b'].toSet()", 'true'],
    ["['a','b'].toSet().difference(['a','c'].toSet()) == ['b'].toSet()", 'true'],
    ["['a','b'].toSet().hasAll(['a','c']) == false", 'true'],
    ["['d','e','f'].toSet().hasAll(['d','e']) == true", 'true'],
    ["['a','b'].toSet().hasAny(['c','d'].toSet()) == false", 'true'],
    ["['a','b'].toSet().hasAny(['a','c'].toSet()) == true", 'true'],
    ["['a','b'].toSet().hasOnly(['a','c']) == false", 'true'],
    ["['a','b'].toSet().hasOnly(['a','b']) == true", 'true'],
    ["['a','b'].toSet().intersection(['a','c'].toSet()) == ['a'].toSet()", 'true'],
    ["['a','b'].toSet().union(['a','c'].toSet()) == ['a', 'b', 'c'].toSet()", 'true'],
  ]);
});

// request.time in these tests is 1700000000.123 s = 2023-11-14T22:13:20.123Z, a Tuesday.
describe('rules.Timestamp, rules.timestamp, rules.Duration, rules.duration', () => {
  table([
    [`timestamp.date(1984, 1, 2) == timestamp.value(${Date.UTC(1984, 0, 2)})`, 'true'],
    ['timestamp.value(0).year() == 1970 && timestamp.value(0).month() == 1 && timestamp.value(0).day() == 1', 'true'],
    ['request.time.year() == 2023 && request.time.month() == 11 && request.time.day() == 14', 'true'],
    ['request.time.hours() == 22 && request.time.minutes() == 13 && request.time.seconds() == 20', 'true'],
    ['request.time.nanos() == 123000000 && request.time.toMillis() == 1700000000123', 'true'],
    ['request.time.dayOfWeek() == 2 && request.time.dayOfYear() == 318', 'true'],
    ['request.time.date() == timestamp.date(2023, 11, 14)', 'true'],
    ['request.time.time() == duration.time(22, 13, 20, 123000000)', 'true'],
    ["request.time + duration.value(1, 'h') > request.time", 'true'],
    ["duration.value(1, 'constructor') > duration.value(0, 's')", 'error'],
    ["request.time - duration.value(1, 'd') < request.time", 'true'],
    ["request.time - timestamp.value(0) == duration.value(1700000000123, 'ms')", 'true'],
    ["duration.value(90, 's').seconds() == 90", 'true'],
    ["duration.value(1500, 'ms').nanos() == 500000000", 'true'],
    ["duration.value(-1500, 'ms').seconds() == -1 && duration.value(-1500, 'ms').nanos() == -500000000", 'true'],
    ["duration.abs(duration.value(-10, 's')) == duration.value(10, 's')", 'true'],
    ["duration.value(1, 'w') == duration.value(7, 'd') && duration.value(1, 'm') == duration.value(60000000000, 'ns')", 'true'],
    ["duration.value(1, 'y') > duration.value(1, 's')", 'error'],
    ['timestamp.date(2023, 2, 30) < request.time', 'error'],
    ['timestamp.value(253402300800000) > request.time', 'error'],
    ['resource.data.t < request.time && resource.data.t is timestamp', 'true', { t: new Date(Date.UTC(2020, 0, 1)) }],
    ['resource.data.t == timestamp.date(2020, 1, 1)', 'true', { t: new Date(Date.UTC(2020, 0, 1)) }],
    ["duration.value(1, 's') is duration && request.time is timestamp", 'true'],
  ]);
});

describe('rules.LatLng and rules.latlng', () => {
  table([
    ['latlng.value(45.0, 90.0).latitude() == 45.0 && latlng.value(45.0, 90.0).longitude() == 90.0', 'true'],
    ['latlng.value(0.0, 0.0).distance(latlng.value(0.0, 1.0)) > 111000 && latlng.value(0.0, 0.0).distance(latlng.value(0.0, 1.0)) < 111400', 'true'],
    ['latlng.value(91.0, 0.0) is latlng', 'error'],
    ['resource.data.g is latlng && resource.data.g == latlng.value(1.5, 2.5)', 'true', { g: new Geo(1.5, 2.5) }],
  ]);
});

describe('rules.Path', () => {
  table([
    ['/databases/$(database)/documents/t/$(id) == request.path', 'true'],
    ["request.path[3] == 't' && request.path[4] == 'doc'", 'true'],
    ["resource['__name__'] == /databases/(default)/documents/t/doc", 'true'],
    ['resource.__name__ == /databases/(default)/documents/t/$(resource.id)', 'true'],
    ["resource.id == 'doc'", 'true'],
    ["path('databases/x/documents/a/b') == /databases/x/documents/a/b", 'true'],
    ["path(path('a/b')) == /a/b", 'error'],
    ["path('users/{uid}/posts/{post}').bind({'uid': 'alice', 'post': 'p1'}) == /users/alice/posts/p1", 'true'],
    ["path('users/{uid}').bind({'other': 'alice'}) == /users/alice", 'error'],
    ['(/path/$(foo)/$(bar)).bind({"foo": "something", "bar": "another"}) == /path/something/another', 'true'],
    ['request.path is path', 'true'],
    ['resource.data.r == /databases/(default)/documents/users/a', 'true', { r: new Ref('users/a') }],
    ["/a/$('b/c') == /a/b/c", 'error'],
    ['/a/$(1) == /a/1', 'true'],
  ]);
});

describe('rules.math', () => {
  table([
    ['math.abs(-1) == 1 && math.abs(1) == 1 && math.abs(-1.5) == 1.5', 'true'],
    ['math.ceil(2.0) == 2 && math.ceil(2.1) == 3 && math.ceil(2.7) == 3 && math.ceil(2.1) is int', 'true'],
    ['math.floor(1.9) == 1 && math.floor(2.0) == 2 && math.floor(2.7) == 2', 'true'],
    ['math.round(1.9) == 2 && math.round(2.4) == 2 && math.round(2.5) == 3', 'true'],
    ['math.sqrt(4) == 2.0 && math.sqrt(2.25) == 1.5', 'true'],
    ['math.pow(2, 2) == 4 && math.pow(1.5, 2) == 2.25 && math.pow(4, 0.5) == 2', 'true'],
    ['math.isNaN(100) == false && math.isNaN(0.0 / 0.0)', 'true'],
    ['math.isInfinite(100) == false', 'error'],
    ["math.abs('1') == 1", 'error'],
  ]);
});

describe('rules.hashing', () => {
  table([
    ["hashing.sha256('abc').toHexString() == 'BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD'", 'true'],
    ["hashing.md5('').toHexString() == 'D41D8CD98F00B204E9800998ECF8427E'", 'true'],
    // The checksum bytes are little-endian, as production gives them (the crc32 of '123456789' is 0xCBF43926).
    ["hashing.crc32('123456789').toHexString() == '2639F4CB'", 'true'],
    ["hashing.crc32c('123456789').toHexString() == '839206E3'", 'true'],
    ["hashing.sha256(b'abc') == hashing.sha256('abc')", 'true'],
    ['hashing.md5(1).size() == 16', 'error'],
  ]);
});

describe('type checks with is (https://firebase.google.com/docs/rules/rules-language operator table)', () => {
  table([
    ["'a' is string && [1] is list && {} is map && true is bool", 'true'],
    ['1 is bool', 'false'],
    ["b'a' is bytes && latlng.value(1.0, 1.0) is latlng", 'true'],
    ['1 is int == true', 'true'],
  ]);
});

describe('operator precedence (https://firebase.google.com/docs/rules/rules-language)', () => {
  table([
    ['1 + 2 * 3 == 7', 'true'],
    ['(1 + 2) * 3 == 9', 'true'],
    ['1 + 1 in [2]', 'true'],
    ["'a' in ['a'] == true", 'true'],
    ['1 < 2 == true', 'true'],
    ['!true || true', 'true'],
    ['-2 * -2 == 4', 'true'],
    ['true || false && false', 'true'],
    ['false ? false : true ? true : false', 'true'],
  ]);
});

describe('debug()', () => {
  it('returns its argument and records the value it printed', () => {
    const { outcome } = evaluate('debug(1 + 1) == 2');
    expect(outcome).toBe('true');
  });
});
