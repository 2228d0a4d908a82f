/**
 * What the rules engine says about a value depends on its type: the error for a wrong-typed operand or
 * argument, the debug() line and the coverage value. Each type (and each symbolic value of a list query) is
 * pinned here, through compileRules + the AccessPolicy methods, so the value model cannot change them unnoticed.
 */
import { describe, expect, it } from 'vitest';
import type { StructuredQuery } from '../../src/engine/api';
import { compileRules } from '../../src/rules';
import { ROOT, denial, doc, evaluate, name, reader, rules, toValue, user } from './support';

type Filter = NonNullable<StructuredQuery['where']>;

/** The EvalError message inside a denial ("get /path: <message> (L6:23) for 'get' @ L6"). */
function errorMessage(text: string): string {
  const match = /^\S+ \S+: (.*) \(L\d+:\d+\) for '\w+' @ L\d+$/.exec(text);
  return match ? match[1] : `not an evaluation error: ${text}`;
}

describe('a wrong-typed operand or argument is an error that names both types', () => {
  it.each([
    ["1 + 'a'", 'operator + is not defined for int and string'],
    ['request.time + request.time', 'operator + is not defined for timestamp and timestamp'],
    ['request.time - 1', 'operator - is not defined for timestamp and int'],
    ["duration.value(1, 's') * 2", 'operator * is not defined for duration and int'],
    ["-'a'", 'unary - is not defined for string'],
    ["'a' < 1", 'values of type string and int cannot be ordered'],
    ['[1].toSet() < [1].toSet()', 'values of type set and set cannot be ordered'],
    ["{'a': 1}.diff({'a': 2}) == {'a': 1}.diff({'a': 2})", 'values of type map_diff cannot be compared with =='],
    ["'a' in 1", 'operator in is not defined for int'],
    ["1 in {'a': 1}", 'map keys are strings, not int'],
    ['true[0]', 'bool cannot be indexed'],
    ['[1][true]', 'index must be an int, not bool'],
    ['1[0:1]', 'int cannot be sliced'],
    ["['a'][true:1]", 'slice bounds must be ints'],
    ['null.x', 'Null value error: cannot read property x of null.'],
    ['true.size()', 'bool has no method size()'],
    ["'a'.keys()", 'string has no method keys()'],
    ['[1].concat(1)', 'concat() argument must be a list, not int'],
    ['[1].hasAll(1)', 'hasAll() argument must be a list, not int'],
    ["[1].hasAny('a')", 'hasAny() argument must be a list, not string'],
    ['[1].hasOnly(1)', 'hasOnly() argument must be a list, not int'],
    ['[1].removeAll(1)', 'removeAll() argument must be a list, not int'],
    ['[1].join(1)', 'join() separator must be a string, not int'],
    ["['a', 1].join('')", 'each joined element must be a string, not int'],
    ["'a'.matches(1)", 'regular expression must be a string, not int'],
    ["'a'.split(1)", 'regular expression must be a string, not int'],
    ["'a'.replace('a', 1)", 'replacement must be a string, not int'],
    ["{'a': 1}.diff(1)", 'diff() argument must be a map, not int'],
    ["{'a': 1}.get(1, 0)", 'get() key must be a list, not int'],
    ['[1].toSet().union([1])', 'union() argument must be a set, not list'],
    ['[1].toSet().intersection([1])', 'intersection() argument must be a set, not list'],
    ['[1].toSet().difference(1)', 'difference() argument must be a set, not int'],
    ['[1].toSet().hasAll(1)', 'hasAll() argument must be a set or a list, not int'],
    ["path('a/{x}').bind(1)", 'bind() argument must be a map, not int'],
    ['latlng.value(0, 0).distance(1)', 'distance() argument must be a latlng, not int'],
    ['duration.abs(1)', 'duration.abs() argument must be a duration, not int'],
    ['duration.value(1, 2)', 'duration.value() unit must be a string, not int'],
    ["duration.value('a', 's')", 'duration.value() magnitude must be an int, not string'],
    ["timestamp.value('a')", 'timestamp.value() argument must be an int, not string'],
    ["math.abs('a')", 'math.abs() argument must be a number, not string'],
    ['hashing.md5(1)', 'hashing.md5() takes bytes or a string, not int'],
    ['int([])', 'int() cannot convert list'],
    ['path(1)', 'Expected: path(string), got path(int)'],
  ])('%s: %s', (expression, message) => {
    const { outcome, decision } = evaluate(expression);
    expect(outcome).toBe('error');
    expect(errorMessage(denial(decision))).toBe(message);
  });

  it.each([
    ["{'a': 1} == {'a': 1}", 'true'],
    ["{'a': 1} == {'b': 1}", 'false'],
    ["b'\\x01' == b'\\x01'", 'true'],
    ['latlng.value(1, 2) == latlng.value(1, 2)', 'true'],
    ["path('a/b') == path('a/b')", 'true'],
    ['[1].toSet() == [1].toSet()', 'true'],
    ['request.time == request.time', 'true'],
    ["duration.value(1, 's') == duration.value(1000, 'ms')", 'true'],
    ['request.time == request.time + duration.value(1, "ns")', 'false'],
    ['1 == 1.0 && 1.0 == 1 && 1 < 1.5', 'true'],
    ["'a' == ['a'] || ['a'] == 'a'", 'false'],
    ['1 == [1].toSet() || [1].toSet() == 1', 'false'],
    ["request.time == 1700000000 || {'a': 1} == 'a' || b'\\x01' == 1", 'false'],
    ['null == {} || {} == null || null == []', 'false'],
  ] as const)('values compare by type and value: %s is %s', (expression, expected) => {
    expect(evaluate(expression).outcome).toBe(expected);
  });
});

describe('debug() and coverage show each type', () => {
  /** [expression, debug() line without its position, coverage value of the expression]. */
  const cases: [string, string, unknown][] = [
    ['null', 'null_value: null', { nullValue: null }],
    ['true', 'bool_value: true', { boolValue: true }],
    ['1', 'int_value: 1', { intValue: '1' }],
    ['2.0', 'float_value: 2.0', { floatValue: 2 }],
    ["'s'", 'string_value: "s"', { stringValue: 's' }],
    ["b'\\x01\\xff'", "bytes_value: b'01ff'", { bytesValue: 'Af8=' }],
    ["[1, 'a']", 'list_value: [1, "a"]', { listValue: { values: [{ intValue: '1' }, { stringValue: 'a' }] } }],
    [
      "{'a': 1, 'b': [true]}",
      'map_value: {"a": 1, "b": [true]}',
      { mapValue: { fields: { a: { intValue: '1' }, b: { listValue: { values: [{ boolValue: true }] } } } } },
    ],
    ['[1, 1, 2].toSet()', 'set_value: set([1, 2])', { setValue: { values: [{ intValue: '1' }, { intValue: '2' }] } }],
    ['request.time', 'timestamp_value: 2023-11-14T22:13:20.123000000Z', { timestampValue: '2023-11-14T22:13:20.123000000Z' }],
    ["duration.value(90, 's')", 'duration_value: duration(90000000000ns)', { durationValue: '90s' }],
    ['latlng.value(1.5, -2)', 'latlng_value: latlng(1.5, -2)', { latlngValue: { latitude: 1.5, longitude: -2 } }],
    ["path('a/b')", 'path_value: /a/b', { pathValue: '/a/b' }],
    ["{'a': 1}.diff({'a': 2})", 'map_diff_value: map_diff', { mapDiffValue: {} }],
    ['resource.data.when', 'timestamp_value: 1970-01-01T00:00:00.000000000Z', { timestampValue: '1970-01-01T00:00:00.000000000Z' }],
    [
      'resource',
      'map_value: {"__name__": /databases/(default)/documents/t/x, "id": "x", "data": {"when": 1970-01-01T00:00:00.000000000Z}}',
      {
        mapValue: {
          fields: {
            __name__: { pathValue: '/databases/(default)/documents/t/x' },
            id: { stringValue: 'x' },
            data: { mapValue: { fields: { when: { timestampValue: '1970-01-01T00:00:00.000000000Z' } } } },
          },
        },
      },
    ],
  ];

  it.each(cases)('%s', (expression, line, coverage) => {
    const lines: string[] = [];
    const content = `rules_version = '2'; service cloud.firestore { match /databases/{d}/documents { match /t/{id} { allow get: if debug(${expression}) == 'zz'; } } }`;
    const compiled = compileRules([{ name: 'firestore.rules', content }], { onDebug: (l) => lines.push(l) });
    compiled.policy.authorizeGet(user('u'), name('t/x'), reader(doc('t/x', { when: new Date(0) })));
    expect(lines.map((l) => l.replace(/ \(L\d+:\d+\)$/, ''))).toEqual([line]);
    const report = compiled.coverageReport() as { report: { children: { values: { value: unknown }[] }[] }[] };
    expect(report.report[0].children[0].values).toEqual([{ value: coverage, count: 1 }]);
  });
});

describe('the symbolic values of a list query', () => {
  const eq = (field: string, value: unknown): Filter => ({ fieldFilter: { field: { fieldPath: field }, op: 'EQUAL', value: toValue(value) } });
  // resource.data: a == 1 and n.b == 2 known, tags known to contain 'x', everything else unknown.
  const where: Filter = {
    compositeFilter: {
      op: 'AND',
      filters: [eq('a', 1), eq('n.b', 2), { fieldFilter: { field: { fieldPath: 'tags' }, op: 'ARRAY_CONTAINS', value: toValue('x') } }],
    },
  };
  const list = (condition: string) =>
    rules(`    match /t/{id} { allow list: if ${condition}; }`).policy.authorizeQuery(user('alice'), ROOT, { from: [{ collectionId: 't' }], where }, reader());
  const notConstrained = 'is not constrained by the query, so the rules cannot be evaluated for every document it could return';

  it.each([
    "'x' in resource.data.tags",
    "'a' in resource.data",
    'resource.data is map && resource.data.tags is list && resource.data.n is map',
    "resource.data.a == 1 && resource.data.n.b == 2 && resource.data['a'] == 1",
    "resource.data.get(['n', 'b'], 0) == 2 && resource.data.n.get('b', 0) == 2",
    'null != resource.data && resource.data.tags != null',
  ])('what the query pins allows: %s', (condition) => {
    expect(denial(list(condition))).toBe('allowed');
  });

  it.each([
    ["resource.data == {'a': 1}", 'resource.data is only partly constrained by the query, so it cannot be compared'],
    ["resource.data.tags == ['x']", 'resource.data.tags is only partly constrained by the query, so it cannot be compared'],
    ["resource.data.n == {'b': 2}", 'resource.data.n is only partly constrained by the query, so it cannot be compared'],
    ["'y' in resource.data.tags", `whether resource.data.tags contains "y" ${notConstrained}`],
    ["'z' in resource.data", `whether resource.data has the key "z" ${notConstrained}`],
    ['resource.data.tags.size() == 1', `the rest of resource.data.tags ${notConstrained}`],
    ['resource.data.keys().size() > 0', `resource.data.keys() ${notConstrained}`],
    ['resource.data.b + 1 == 2', `resource.data.b ${notConstrained}`],
    ['-resource.data.b == 1', `resource.data.b ${notConstrained}`],
    ['!resource.data.b', `resource.data.b ${notConstrained}`],
    ['resource.data.b.x == 1', `resource.data.b ${notConstrained}`],
    ["resource.data.get(['n', 'c'], 0) == 0", `resource.data.n.c ${notConstrained}`],
    ["resource.data.get('b', 0) == 0", `resource.data.b ${notConstrained}`],
    ['resource.data.b == null', `resource.data.b ${notConstrained}`],
    ['null == resource.data.b', `resource.data.b ${notConstrained}`],
    ['resource.data.tags == resource.data.b', `resource.data.b ${notConstrained}`],
    ['resource.data.b == resource.data.tags', `resource.data.b ${notConstrained}`],
    ['resource.data.b < 1', `resource.data.b ${notConstrained}`],
    ["'a' < resource.data.b", `resource.data.b ${notConstrained}`],
    ['1 in resource.data.b', `resource.data.b ${notConstrained}`],
    ['resource.data.b[0] == 1', `resource.data.b ${notConstrained}`],
    ['resource.data.b[0:1] == []', `resource.data.b ${notConstrained}`],
    ['resource.data.b.size() == 1', `resource.data.b ${notConstrained}`],
    ["'x'.matches(resource.data.b)", `resource.data.b ${notConstrained}`],
    ['[1].toSet().union(resource.data.b) == []', `resource.data.b ${notConstrained}`],
    ['[1].concat(resource.data.b) == []', `resource.data.b ${notConstrained}`],
    ['exists(/databases/$(database)/documents/t/$(resource.data.b))', `resource.data.b ${notConstrained}`],
    ["resource.id == 'x'", `resource.id (the query does not constrain __name__) ${notConstrained}`],
    ["string(resource.data.b) == ''", 'string() cannot convert unknown'],
    ["resource.data.tags[0] == 'x'", `the rest of resource.data.tags ${notConstrained}`],
    ["resource.data.tags[0:1] == ['x']", `the rest of resource.data.tags ${notConstrained}`],
    ['resource.data < 1', 'values of type map and int cannot be ordered'],
    ['[1].concat(resource.data.tags) == []', `the rest of resource.data.tags ${notConstrained}`],
    ["{'a': 1}.diff(resource.data).addedKeys() == []", `the rest of resource.data ${notConstrained}`],
  ])('what it does not pin is an error: %s', (condition, message) => {
    const text = denial(list(condition));
    const match = /^list .*? \(query branch where .*?\): (.*) \(L\d+:\d+\) for 'list' @ L\d+$/.exec(text);
    expect(match?.[1] ?? text).toBe(message);
  });

  it('debug() and coverage show them as partly known or unknown', () => {
    const lines: string[] = [];
    const values = ['resource.data', 'resource.data.tags', 'resource.data.b', 'resource'];
    const condition = values.map((v) => `debug(${v}) == 'zz'`).join(' || ');
    const content = `rules_version = '2'; service cloud.firestore { match /databases/{d}/documents { match /t/{id} { allow list: if ${condition}; } } }`;
    const compiled = compileRules([{ name: 'firestore.rules', content }], { onDebug: (l) => lines.push(l) });
    compiled.policy.authorizeQuery(user('alice'), ROOT, { from: [{ collectionId: 't' }], where }, reader());
    expect(lines.map((l) => l.replace(/ \(L\d+:\d+\)$/, ''))).toEqual([
      'map_value: <partly known resource.data>',
      'list_value: <list containing "x">',
      'unknown_value: <unknown resource.data.b>',
      'map_value: {"__name__": /databases/(default)/documents/t/<unknown>, "id": <unknown resource.id (the query does not constrain __name__)>, "data": <partly known resource.data>}',
    ]);
    type Report = { values: { value: unknown }[]; children: Report[] };
    const debugValues: unknown[] = [];
    const walk = (node: Report): void => {
      node.children.forEach(walk);
      // The debug() calls: the left operand of each `== 'zz'`.
      if (node.children.length === 2 && JSON.stringify(node.children[1].values[0]?.value) === '{"stringValue":"zz"}') {
        debugValues.push(node.children[0].values[0]?.value);
      }
    };
    (compiled.coverageReport() as { report: Report[] }).report.forEach(walk);
    expect(debugValues).toEqual([
      { unknownValue: 'resource.data' },
      { unknownValue: 'resource.data.tags' },
      { unknownValue: 'resource.data.b' },
      {
        mapValue: {
          fields: {
            __name__: { pathValue: '/databases/(default)/documents/t/<unknown>' },
            id: { unknownValue: 'resource.id (the query does not constrain __name__)' },
            data: { unknownValue: 'resource.data' },
          },
        },
      },
    ]);
  });
});
