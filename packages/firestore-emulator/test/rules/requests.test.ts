/**
 * Path matching, request/resource variables, document access functions, limits, denial messages, coverage
 * and debug output, through compileRules + the AccessPolicy methods with in-memory DocumentReaders.
 */
import { describe, expect, it } from 'vitest';
import type { WriteAccess } from '../../src/engine/api';
import { compileRules } from '../../src/rules';
import { anonymous, denial, doc, name, reader, rules, user } from './support';

const none = reader();

function get(compiled: ReturnType<typeof rules>, path: string, docs = none, ctx = user('alice')) {
  return compiled.policy.authorizeGet(ctx, name(path), docs);
}

function write(method: WriteAccess['method'], path: string, before: Record<string, unknown> | null, after: Record<string, unknown> | null): WriteAccess {
  return { name: name(path), method, before: before && doc(path, before), after: after && doc(path, after) };
}

describe('path matching (https://firebase.google.com/docs/firestore/security/rules-structure)', () => {
  it('a wildcard matches one document; rules do not cascade to subcollections', () => {
    const compiled = rules('    match /cities/{city} { allow read: if city == "SF"; }');
    expect(get(compiled, 'cities/SF').allowed).toBe(true);
    expect(get(compiled, 'cities/LA').allowed).toBe(false);
    const sub = get(compiled, 'cities/SF/landmarks/coit');
    expect(sub).toMatchObject({ allowed: false });
    expect(denial(sub)).toMatch(/no allow statement for 'get' matches this path/);
  });

  it('a literal segment matches only that document', () => {
    const compiled = rules('    match /cities/SF { allow read; }');
    expect(get(compiled, 'cities/SF').allowed).toBe(true);
    expect(get(compiled, 'cities/LA').allowed).toBe(false);
  });

  it('nested match paths are relative to their parent', () => {
    const compiled = rules('    match /cities/{city} { match /landmarks/{landmark} { allow read: if city == "SF" && landmark == "coit"; } }');
    expect(get(compiled, 'cities/SF/landmarks/coit').allowed).toBe(true);
    expect(get(compiled, 'cities/SF').allowed).toBe(false);
  });

  it('binds {database} to the database id', () => {
    expect(get(rules('    match /t/{id} { allow read: if database == "(default)"; }'), 't/x').allowed).toBe(true);
  });

  it("recursive wildcards match zero or more segments in rules_version '2'", () => {
    const compiled = rules('    match /cities/{city}/{document=**} { allow read; }');
    expect(get(compiled, 'cities/SF').allowed).toBe(true);
    expect(get(compiled, 'cities/SF/landmarks/coit').allowed).toBe(true);
  });

  it("recursive wildcards match one or more segments in rules_version '1'", () => {
    const v1 = rules('    match /cities/{city}/{document=**} { allow read; }', null);
    expect(get(v1, 'cities/SF').allowed).toBe(false);
    expect(get(v1, 'cities/SF/landmarks/coit').allowed).toBe(true);
    const whole = rules('    match /cities/{document=**} { allow read; }', '1');
    expect(get(whole, 'cities/SF').allowed).toBe(true);
    expect(get(whole, 'cities/SF/landmarks/coit').allowed).toBe(true);
  });

  it('a recursive wildcard holds the matched path: SF/landmarks/coit_tower', () => {
    const compiled = rules(`    match /cities/{document=**} { allow read: if document == path('SF/landmarks/coit_tower') && document[0] == 'SF'; }`);
    expect(get(compiled, 'cities/SF/landmarks/coit_tower').allowed).toBe(true);
  });

  it("a recursive wildcard can lead the path in rules_version '2' (collection group rules)", () => {
    const compiled = rules('    match /{path=**}/posts/{post} { allow read: if post == "p"; }');
    expect(get(compiled, 'posts/p').allowed).toBe(true);
    expect(get(compiled, 'forums/f/posts/p').allowed).toBe(true);
    expect(get(compiled, 'forums/f/sub/s/posts/p').allowed).toBe(true);
    expect(get(compiled, 'forums/f/posts/q').allowed).toBe(false);
  });

  it('overlapping matches: any true allow statement wins over a false one', () => {
    const compiled = rules(`
    match /cities/{city} { allow read, write: if false; }
    match /cities/{document=**} { allow read, write: if true; }`);
    expect(get(compiled, 'cities/SF').allowed).toBe(true);
  });

  it('overlapping matches: an allow statement that errors does not block another that allows', () => {
    const compiled = rules(`
    match /cities/{city} { allow read: if resource.data.missing == 1; }
    match /cities/{city} { allow read: if true; }`);
    expect(get(compiled, 'cities/SF', reader(doc('cities/SF', {}))).allowed).toBe(true);
  });

  it('read covers get and list; get covers only get', () => {
    const read = rules('    match /t/{id} { allow read; }');
    const getOnly = rules('    match /t/{id} { allow get; }');
    const query = { from: [{ collectionId: 't' }] };
    expect(read.policy.authorizeQuery(user('a'), name('').slice(0, -1), query, none).allowed).toBe(true);
    expect(getOnly.policy.authorizeQuery(user('a'), name('').slice(0, -1), query, none).allowed).toBe(false);
    expect(get(getOnly, 't/x').allowed).toBe(true);
  });

  it('write covers create, update and delete; create covers only create', () => {
    const writeAll = rules('    match /t/{id} { allow write; }');
    const createOnly = rules('    match /t/{id} { allow create; }');
    for (const method of ['create', 'update', 'delete'] as const) {
      const w = write(method, 't/x', method === 'create' ? null : {}, method === 'delete' ? null : {});
      expect(writeAll.policy.authorizeWrites(user('a'), [w], none, none).allowed).toBe(true);
      expect(createOnly.policy.authorizeWrites(user('a'), [w], none, none).allowed).toBe(method === 'create');
    }
  });
});

describe('request and resource (https://firebase.google.com/docs/reference/rules/rules.firestore.Request, rules.firestore.Resource)', () => {
  it('request.auth is null for a signed-out caller', () => {
    const compiled = rules('    match /t/{id} { allow read: if request.auth == null; }');
    expect(get(compiled, 't/x', none, anonymous()).allowed).toBe(true);
    expect(get(compiled, 't/x', none, user('alice')).allowed).toBe(false);
  });

  it('request.auth.uid and request.auth.token with custom claims', () => {
    const compiled = rules(`    match /t/{id} { allow read: if request.auth.uid == 'alice' && request.auth.token.role == 'admin'
      && request.auth.token.firebase.sign_in_provider == 'password' && request.auth.token.orgs.A == 'owner'; }`);
    const claims = { role: 'admin', firebase: { sign_in_provider: 'password' }, orgs: { A: 'owner' } };
    expect(get(compiled, 't/x', none, user('alice', claims)).allowed).toBe(true);
    expect(get(compiled, 't/x', none, user('alice', { ...claims, role: 'member' })).allowed).toBe(false);
  });

  it('request.method names the operation', () => {
    const compiled = rules('    match /t/{id} { allow read, write: if request.method == id; }');
    expect(get(compiled, 't/get').allowed).toBe(true);
    expect(get(compiled, 't/list').allowed).toBe(false);
    for (const method of ['create', 'update', 'delete'] as const) {
      expect(compiled.policy.authorizeWrites(user('a'), [write(method, `t/${method}`, {}, {})], none, none).allowed).toBe(true);
    }
  });

  it('request.path and request.time', () => {
    const compiled = rules(
      '    match /t/{id} { allow read: if request.path == /databases/(default)/documents/t/x && request.time == timestamp.value(1700000000123); }',
    );
    expect(get(compiled, 't/x').allowed).toBe(true);
  });

  it('resource is the stored document for get, null when it does not exist', () => {
    const compiled = rules("    match /t/{id} { allow read: if resource == null || resource.data.visibility == 'public'; }");
    expect(get(compiled, 't/x', reader(doc('t/x', { visibility: 'public' }))).allowed).toBe(true);
    expect(get(compiled, 't/x', reader(doc('t/x', { visibility: 'private' }))).allowed).toBe(false);
    expect(get(compiled, 't/x').allowed).toBe(true);
  });

  it('create: resource is null and request.resource is the new document', () => {
    const compiled = rules(`    match /t/{id} { allow create: if resource == null && request.resource.data.n == 1
      && request.resource.id == id && request.resource.__name__ == /databases/$(database)/documents/t/$(id); }`);
    expect(compiled.policy.authorizeWrites(user('a'), [write('create', 't/x', null, { n: 1 })], none, none).allowed).toBe(true);
    expect(compiled.policy.authorizeWrites(user('a'), [write('create', 't/x', null, { n: 2 })], none, none).allowed).toBe(false);
  });

  it('update: resource is the stored document, request.resource the document after the write', () => {
    const compiled = rules(`    match /t/{id} { allow update: if request.resource.data.diff(resource.data).affectedKeys().hasOnly(['name'])
      && request.resource.data.createdBy == resource.data.createdBy; }`);
    const ok = write('update', 't/x', { name: 'a', createdBy: 'u' }, { name: 'b', createdBy: 'u' });
    const moves = write('update', 't/x', { name: 'a', createdBy: 'u' }, { name: 'a', createdBy: 'v' });
    expect(compiled.policy.authorizeWrites(user('a'), [ok], none, none).allowed).toBe(true);
    expect(compiled.policy.authorizeWrites(user('a'), [moves], none, none).allowed).toBe(false);
  });

  it('delete: request.resource is null', () => {
    const compiled = rules('    match /t/{id} { allow delete: if request.resource == null && resource.data.owner == request.auth.uid; }');
    expect(compiled.policy.authorizeWrites(user('alice'), [write('delete', 't/x', { owner: 'alice' }, null)], none, none).allowed).toBe(true);
    expect(compiled.policy.authorizeWrites(user('bob'), [write('delete', 't/x', { owner: 'alice' }, null)], none, none).allowed).toBe(false);
  });

  it('reading a field of a missing request.resource is an error, not a pass', () => {
    const compiled = rules('    match /t/{id} { allow read: if request.resource.data.x == 1; }');
    const decision = get(compiled, 't/x');
    expect(denial(decision)).toMatch(/Property resource is undefined/);
  });
});

describe('get, exists, getAfter, existsAfter (https://firebase.google.com/docs/reference/rules/rules.firestore)', () => {
  const membership = rules(`
    function role(orgId) { return get(/databases/$(database)/documents/orgs/$(orgId)/members/$(request.auth.uid)).data.role; }
    match /orgs/{orgId}/items/{item} {
      allow read: if role(orgId) in ['owner', 'viewer'];
      allow create: if existsAfter(/databases/$(database)/documents/orgs/$(orgId)/members/$(request.auth.uid))
        && getAfter(/databases/$(database)/documents/orgs/$(orgId)/members/$(request.auth.uid)).data.role == 'owner';
    }
    match /orgs/{orgId}/members/{uid} { allow create: if !exists(/databases/$(database)/documents/orgs/$(orgId)/members/$(uid)); }`);
  const members = reader(doc('orgs/A/members/alice', { role: 'viewer' }), doc('orgs/A/members/bob', { role: 'guest' }));

  it('get() reads another document; a missing one is null and reading its data is an error', () => {
    expect(get(membership, 'orgs/A/items/i', members, user('alice'))).toMatchObject({ allowed: true, lookups: 1 });
    expect(get(membership, 'orgs/A/items/i', members, user('bob')).allowed).toBe(false);
    const stranger = get(membership, 'orgs/A/items/i', members, user('carol'));
    expect(denial(stranger)).toMatch(/Null value error/);
  });

  it('getAfter() and existsAfter() see the whole batch applied; get() and exists() see the state before it', () => {
    const before = reader();
    const after = reader(doc('orgs/A/members/alice', { role: 'owner' }), doc('orgs/A/items/i', {}));
    const batch = [write('create', 'orgs/A/members/alice', null, { role: 'owner' }), write('create', 'orgs/A/items/i', null, {})];
    expect(membership.policy.authorizeWrites(user('alice'), batch, before, after)).toMatchObject({ allowed: true, lookups: 2 });
    const alone = membership.policy.authorizeWrites(user('alice'), [batch[1]], before, reader(doc('orgs/A/items/i', {})));
    expect(alone.allowed).toBe(false);
  });

  it('getAfter() in a read rule is an error', () => {
    const compiled = rules('    match /t/{id} { allow read: if existsAfter(/databases/$(database)/documents/t/$(id)); }');
    expect(denial(get(compiled, 't/x'))).toMatch(/only be used in write rules/);
  });

  it('refuses paths that are not documents of this database', () => {
    const collection = rules('    match /t/{id} { allow read: if exists(/databases/$(database)/documents/t); }');
    expect(denial(get(collection, 't/x'))).toMatch(/needs a document path/);
    const other = rules('    match /t/{id} { allow read: if exists(/databases/other/documents/t/x); }');
    expect(denial(get(other, 't/x'))).toMatch(/another database/);
  });
});

describe('limits (https://firebase.google.com/docs/firestore/quotas, Security rules)', () => {
  const existsAll = (n: number) => Array.from({ length: n }, (_, i) => `exists(/databases/$(database)/documents/d/${i})`).join(' || ') || 'false';

  it('a repeated lookup of the same document counts once', () => {
    const compiled = rules(`    match /t/{id} { allow read: if get(/databases/$(database)/documents/d/1).data.a == 1
      && get(/databases/$(database)/documents/d/1).data.a == 1 && exists(/databases/$(database)/documents/d/1); }`);
    const docs = reader(doc('d/1', { a: 1 }));
    expect(get(compiled, 't/x', docs)).toMatchObject({ allowed: true, lookups: 1 });
    expect(docs.reads.filter((n) => n.endsWith('/d/1'))).toHaveLength(1);
  });

  it('10 lookups are allowed for a single-document request, the 11th denies it', () => {
    const ten = rules(`    match /t/{id} { allow read: if ${existsAll(10)} || true; }`);
    expect(get(ten, 't/x')).toMatchObject({ allowed: true, lookups: 10 });
    const eleven = rules(`    match /t/{id} { allow read: if ${existsAll(11)} || true; }`);
    const decision = get(eleven, 't/x');
    expect(decision.allowed).toBe(false);
    expect(denial(decision)).toMatch(/more than 10 document lookups/);
  });

  it('a batch may make 20 lookups, 10 per write; each write counts its own (3 writes x 2 lookups = 6)', () => {
    const perWrite = rules(
      `    match /t/{id} { allow create: if !exists(/databases/$(database)/documents/a/$(id)) && !exists(/databases/$(database)/documents/b/$(id)); }`,
    );
    const batch = ['1', '2', '3'].map((id) => write('create', `t/${id}`, null, {}));
    expect(perWrite.policy.authorizeWrites(user('u'), batch, none, none)).toMatchObject({ allowed: true, lookups: 6 });
  });

  it('a batch over 20 lookups in total is denied even when no write exceeds 10', () => {
    const eight = Array.from({ length: 8 }, (_, i) => `!exists(/databases/$(database)/documents/d/$(id + '_${i}'))`).join(' && ');
    const compiled = rules(`    match /t/{id} { allow create: if ${eight}; }`);
    const two = ['1', '2'].map((id) => write('create', `t/${id}`, null, {}));
    expect(compiled.policy.authorizeWrites(user('u'), two, none, none)).toMatchObject({ allowed: true, lookups: 16 });
    const three = ['1', '2', '3'].map((id) => write('create', `t/${id}`, null, {}));
    const decision = compiled.policy.authorizeWrites(user('u'), three, none, none);
    expect(denial(decision)).toMatch(/more than 20 document lookups in one request/);
  });

  it('a write of a batch over 10 lookups is denied', () => {
    const compiled = rules(`    match /t/{id} { allow create: if ${existsAll(11)} || true; }`);
    const decision = compiled.policy.authorizeWrites(user('u'), [write('create', 't/1', null, {}), write('create', 't/2', null, {})], none, none);
    expect(denial(decision)).toMatch(/more than 10 document lookups \(get, exists, getAfter, existsAfter\) for one document/);
  });

  it('lookups of the same document are shared by the writes of a batch', () => {
    const compiled = rules(`    match /t/{id} { allow create: if exists(/databases/$(database)/documents/members/$(request.auth.uid)); }`);
    const batch = Array.from({ length: 25 }, (_, i) => write('create', `t/${i}`, null, {}));
    expect(compiled.policy.authorizeWrites(user('u'), batch, reader(doc('members/u', {})), none)).toMatchObject({ allowed: true, lookups: 1 });
  });

  it('more than 1,000 expressions evaluated for one document deny the request', () => {
    const list = (n: number) => `[${Array(n).fill('1').join(', ')}].size() > 0`;
    expect(get(rules(`    match /t/{id} { allow read: if ${list(990)}; }`), 't/x').allowed).toBe(true);
    const decision = get(rules(`    match /t/{id} { allow read: if ${list(1000)}; }`), 't/x');
    expect(denial(decision)).toMatch(/more than 1000 expressions/);
  });

  it('the function call depth is limited to 20', () => {
    const chain = (n: number) => Array.from({ length: n }, (_, i) => `    function f${i + 1}() { return ${i + 1 < n ? `f${i + 2}()` : 'true'}; }`).join('\n');
    expect(get(rules(`${chain(20)}\n    match /t/{id} { allow read: if f1(); }`), 't/x').allowed).toBe(true);
    const decision = get(rules(`${chain(21)}\n    match /t/{id} { allow read: if f1(); }`), 't/x');
    expect(denial(decision)).toMatch(/function call depth exceeds 20/);
  });

  it('a limit is not absorbed by ||', () => {
    const compiled = rules(`    match /t/{id} { allow read: if ${existsAll(11)} || true; }
    match /t/{id} { allow read: if true; }`);
    expect(get(compiled, 't/x').allowed).toBe(false);
  });
});

describe('denial messages name the path, the method and the rule line', () => {
  it('lists every allow statement that was evaluated and what it gave', () => {
    const compiled = rules(`    match /t/{id} {
      allow read: if false;
      allow get: if resource.data.role == 'x';
    }`);
    const decision = get(compiled, 't/x', reader(doc('t/x', {})));
    expect(decision.allowed).toBe(false);
    expect(denial(decision)).toBe("get /databases/(default)/documents/t/x: false for 'get' @ L5; Property role is undefined on object. (L6:34) for 'get' @ L6");
  });

  it('says when no allow statement matches', () => {
    const decision = rules('    match /t/{id} { allow write; }').policy.authorizeWrites(user('u'), [write('create', 'u/x', null, {})], none, none);
    expect(denial(decision)).toBe("create /databases/(default)/documents/u/x: no allow statement for 'create' matches this path");
  });
});

describe('coverage report and debug()', () => {
  it('reports each expression with its position and the values it evaluated to, like :ruleCoverage', () => {
    const content =
      "rules_version = '2';\nservice cloud.firestore {\n  match /databases/{database}/documents {\n    match /t/{id} { allow read: if id == 'a'; }\n  }\n}\n";
    const compiled = compileRules([{ name: 'firestore.rules', content }]);
    for (const id of ['a', 'a', 'b']) compiled.policy.authorizeGet(user('u'), name(`t/${id}`), none);
    const report = compiled.coverageReport() as {
      rules: { files: { name: string; content: string }[] };
      report: { sourcePosition: { line: number; column: number }; values: { value: unknown; count: number }[]; children: unknown[] }[];
    };
    expect(report.rules.files).toEqual([{ name: 'firestore.rules', content }]);
    expect(report.report).toHaveLength(1);
    const [condition] = report.report;
    expect(condition.sourcePosition).toMatchObject({ fileName: 'firestore.rules', line: 4, column: 36 });
    expect(condition.values).toEqual([
      { value: { boolValue: true }, count: 2 },
      { value: { boolValue: false }, count: 1 },
    ]);
    expect(condition.children).toHaveLength(2);
  });

  it('records errors as values', () => {
    const compiled = rules('    match /t/{id} { allow read: if resource.data.x == 1; }');
    get(compiled, 't/x', reader(doc('t/x', {})));
    const report = compiled.coverageReport() as { report: { values: { value: unknown }[] }[] };
    expect(report.report[0].values).toEqual([{ value: { errorValue: 'Property x is undefined on object.' }, count: 1 }]);
  });

  it('debug() returns its argument and logs it with its type', () => {
    const lines: string[] = [];
    const compiled = compileRules(
      [
        {
          name: 'f',
          content: "rules_version = '2'; service cloud.firestore { match /databases/{d}/documents { match /t/{id} { allow read: if debug(id) == 'x'; } } }",
        },
      ],
      { onDebug: (line) => lines.push(line) },
    );
    expect(compiled.policy.authorizeGet(user('u'), name('t/x'), none).allowed).toBe(true);
    expect(lines).toEqual(['string_value: "x" (L1:112)']);
    expect(compiled.debugLog()).toEqual(lines);
  });
});
