/**
 * Parsing and compile-time checks: syntax errors carry line and column, and every construct the engine does
 * not support, or the rules service forbids, is refused at load time with an error naming it.
 */
import { describe, expect, it } from 'vitest';
import { RulesCompileError, compileRules } from '../../src/rules';
import { evaluate, rules } from './support';

function compileError(content: string): RulesCompileError {
  try {
    compileRules([{ name: 'firestore.rules', content }]);
  } catch (error) {
    if (error instanceof RulesCompileError) return error;
    throw error;
  }
  throw new Error('expected a RulesCompileError');
}

/** A ruleset whose only allow condition is `condition` (line 4 of the source). */
function withCondition(condition: string, extra = '', version = "rules_version = '2';"): string {
  return `${version}\nservice cloud.firestore {\n  match /databases/{database}/documents {\n    match /t/{id} { allow get: if ${condition}; }\n${extra}\n  }\n}\n`;
}

describe('parser', () => {
  it('parses nested parentheses and ternaries without re-parsing each level (each level doubled the time: 20 took over a minute)', () => {
    expect(evaluate(`${'('.repeat(20)}true${')'.repeat(20)}`).outcome).toBe('true');
    expect(evaluate(`${'(true ? '.repeat(20)}true${' : false)'.repeat(20)}`).outcome).toBe('true');
  });

  it('refuses expressions nested deeper than the stack allows with a compile error, not a crash', () => {
    const tooDeep = `${'('.repeat(20_000)}true${')'.repeat(20_000)}`;
    expect(() => compileRules([{ name: 'firestore.rules', content: withCondition(tooDeep) }])).toThrow(RulesCompileError);
  });

  it('accepts the full syntax: comments, nested matches, functions with let, every literal and operator', () => {
    const compiled = compileRules([
      {
        name: 'firestore.rules',
        content: `rules_version = '2';
// a comment
service cloud.firestore {
  /* block
     comment */
  match /databases/{database}/documents {
    function isSignedIn() { return request.auth != null; }
    function owns(uid) {
      let self = request.auth.uid;
      let same = self == uid;
      return same;
    }
    match /users/{uid} {
      allow read, update: if isSignedIn() && owns(uid);
      allow create
        : if owns(uid)
          && request.resource.data.keys().hasOnly(['name', 'n', 'b'])
          && request.resource.data.n is int
          && (request.resource.data.n + 1) * 2 / 2 % 7 - 1 >= -1;
      allow delete: if false;
      match /private/{doc=**} {
        allow read: if owns(uid) ? true : [1, 2][0:1] == [1] && {'k': b'\\x01', "q": r'\\d'}.size() == 2;
      }
    }
    match /{path=**}/posts/{post} {
      allow list: if request.query.limit <= 10
    }
  }
}`,
      },
    ]);
    expect(compiled.rulesVersion).toBe('2');
  });

  it('reports a syntax error with its line and column', () => {
    const error = compileError(
      `rules_version = '2';\nservice cloud.firestore {\n  match /databases/{database}/documents {\n    match /a/{b} { allow read: if 1 +; }\n  }\n}\n`,
    );
    expect(error.message).toMatch(/syntax error/);
    expect([error.line, error.column]).toEqual([4, 38]); // the ';' where an operand should be
  });

  it('reports an unterminated block at the end of the input', () => {
    const error = compileError(`service cloud.firestore {\n  match /databases/{database}/documents {\n`);
    expect(error.line).toBe(3);
  });

  it('defaults to rules_version 1 when none is given', () => {
    expect(
      compileRules([{ name: 'f', content: 'service cloud.firestore { match /databases/{d}/documents { match /a/{b} { allow read; } } }' }]).rulesVersion,
    ).toBe('1');
  });
});

describe('refused at compile time, naming the construct', () => {
  const cases: [string, string, RegExp, [number, number]][] = [
    ['an unknown rules_version', withCondition('true', '', "rules_version = '3';"), /unsupported rules_version '3'/, [1, 1]],
    ['another service', 'service firebase.storage {\n  match /b/{bucket}/o { }\n}', /unsupported service 'firebase.storage'/, [1, 1]],
    ['an unknown function', withCondition('isAdmin()'), /unknown function 'isAdmin'/, [4, 35]],
    ['an unknown method', withCondition("'a'.startsWith('a')"), /unknown method 'startsWith\(\)'/, [4, 38]],
    ['a method with the wrong number of arguments', withCondition("'a'.matches()"), /matches\(\) takes 1 arguments, not 0/, [4, 38]],
    ['a builtin with the wrong number of arguments', withCondition('exists()'), /exists\(\) takes 1 arguments, not 0/, [4, 35]],
    ['an unknown namespace function', withCondition('math.max(1, 2) == 2'), /unknown function 'math.max'/, [4, 39]],
    ['a function named like an Object member', withCondition('constructor(1)'), /unknown function 'constructor'/, [4, 35]],
    ['a namespace function named like an Object member', withCondition('math.toString()'), /unknown function 'math.toString'/, [4, 39]],
    ['a namespace named like an Object member', withCondition('valueOf == 1'), /unknown variable 'valueOf'/, [4, 35]],
    ['a namespace used as a value', withCondition('math == 1'), /math is a namespace of functions/, [4, 35]],
    ['a namespace member', withCondition('math.pi > 3'), /math.pi is not a value/, [4, 39]],
    ['an unknown variable', withCondition('user.id == 1'), /unknown variable 'user'/, [4, 35]],
    ['an unsupported type after is', withCondition('[1].toSet() is set'), /unsupported type 'set' after is/, [4, 50]],
    ['an unknown allow method', withCondition('true', '    match /x/{y} { allow writ: if true; }'), /unknown method 'writ' in allow/, [5, 26]],
    ['let in rules_version 1', withCondition('f()', '    function f() { let a = 1; return a == 1; }', ''), /let bindings require rules_version = '2'/, [5, 20]],
    ['an out of range integer literal', withCondition('9223372036854775808 > 0'), /out of the 64-bit range/, [4, 35]],
    [
      'direct recursion',
      withCondition('f(1)', '    function f(n) { return n == 0 || f(n - 1); }'),
      /recursive function calls are not allowed: f -> f/,
      [5, 38],
    ],
    [
      'mutual recursion',
      withCondition('f()', '    function f() { return g(); }\n    function g() { return f(); }'),
      /recursive function calls are not allowed: f -> g -> f/,
      [6, 27],
    ],
    ['more than 7 function parameters', withCondition('true', '    function f(a, b, c, d, e, g, h, i) { return true; }'), /more than 7 parameters/, [5, 5]],
    [
      'more than 10 let bindings',
      withCondition('true', `    function f() { ${Array.from({ length: 11 }, (_, i) => `let v${i} = ${i};`).join(' ')} return true; }`),
      /more than 10 let bindings/,
      [5, 140],
    ],
    [
      'a recursive wildcard before the end in rules_version 1',
      withCondition('true', '    match /{p=**}/x/{y} { allow read; }', ''),
      /must end the match path/,
      [5, 12],
    ],
    ['two recursive wildcards in one match', withCondition('true', '    match /{p=**}/x/{q=**} { allow read; }'), /at most one recursive wildcard/, [5, 21]],
    ['a wildcard name bound twice', withCondition('true', '    match /x/{id} { match /y/{id} { allow read; } }'), /wildcard \{id\} is already bound/, [5, 30]],
    ['an allow statement outside any match', 'service cloud.firestore {\n  allow read;\n}', /allow statements must be inside a match block/, [2, 3]],
    [
      'a function declared twice in one block',
      withCondition('true', '    function f() { return true; }\n    function f() { return false; }'),
      /declared twice/,
      [6, 5],
    ],
    ['a function called with the wrong arity', withCondition('f(1, 2)', '    function f(a) { return a; }'), /function f takes 1 arguments, not 2/, [4, 35]],
  ];
  it.each(cases)('%s', (_, content, message, [line, column]) => {
    const error = compileError(content);
    expect(error.message).toMatch(message);
    expect([error.line, error.column]).toEqual([line, column]);
  });

  it('match statements nested more than 10 deep', () => {
    const open = Array.from({ length: 10 }, (_, i) => `match /c${i}/{d${i}} {`).join(' ');
    const close = '}'.repeat(10);
    expect(compileError(`service cloud.firestore { match /databases/{database}/documents { ${open} allow read; ${close} } }`).message).toMatch(
      /nested more than 10 deep/,
    );
  });

  it('more than 20 captured wildcards along nested matches', () => {
    const segments = Array.from({ length: 21 }, (_, i) => `/c${i}/{w${i}}`).join('');
    expect(compileError(`service cloud.firestore { match /databases/{database}/documents { match ${segments} { allow read; } } }`).message).toMatch(
      /capture more than 20/,
    );
  });

  it('more than one rules file', () => {
    expect(() =>
      compileRules([
        { name: 'a', content: '' },
        { name: 'b', content: '' },
      ]),
    ).toThrow(/exactly one rules file/);
  });
});

describe('scoping', () => {
  it('functions see the wildcards of the match block they are declared in, and functions of enclosing blocks', () => {
    const compiled = rules(`
    function top() { return true; }
    match /orgs/{orgId} {
      function inOrg(x) { return top() && x == orgId; }
      match /items/{item} { allow get: if inOrg('A') && item == 'i'; }
    }`);
    expect(compiled.rulesVersion).toBe('2');
  });

  it('a function cannot use a wildcard of a block it is not declared in', () => {
    expect(() =>
      rules(`
    function usesOrg() { return orgId == 'A'; }
    match /orgs/{orgId} { allow get: if usesOrg(); }`),
    ).toThrow(/unknown variable 'orgId'/);
  });

  it('a local name shadows a namespace', () => {
    const { outcome } = evaluate("f(duration.value(5, 's'))", { functions: '    function f(timestamp) { return timestamp.seconds() == 5; }' });
    expect(outcome).toBe('true');
  });
});
