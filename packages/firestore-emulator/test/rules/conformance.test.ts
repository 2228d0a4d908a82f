/**
 * Rules conformance through @firebase/rules-unit-testing: each case is rules + request + expected outcome, and
 * cites the reference page it checks. The file runs against whichever emulator FIRESTORE_EMULATOR_HOST names:
 * ours (started by the vitest global setup) or Google's (`npm run test:emulator`). Expectations are written so
 * that the nearest wrong semantics gives the opposite outcome (for example `!(x == 2)` fails only if reading x
 * is an error, not null). Checks of our emulator's own extras (refusing unsupported constructs, lookup counts)
 * run only when it is the driver.
 */
import { assertFails, assertSucceeds, initializeTestEnvironment, type RulesTestContext, type RulesTestEnvironment } from '@firebase/rules-unit-testing';
import {
  Timestamp,
  collection,
  collectionGroup,
  deleteDoc,
  doc,
  getDoc,
  getDocs,
  limit,
  or,
  orderBy,
  query,
  setDoc,
  updateDoc,
  where,
  writeBatch,
  type Firestore,
} from 'firebase/firestore';
import { beforeAll, describe, expect, it } from 'vitest';
import { emulator, offlineEmulator, RUN, withRules } from './environments';

const REF = 'https://firebase.google.com/docs/reference/rules';
const STRUCTURE = 'https://firebase.google.com/docs/firestore/security/rules-structure';
const CONDITIONS = 'https://firebase.google.com/docs/firestore/security/rules-conditions';
const QUERIES = 'https://firebase.google.com/docs/firestore/security/rules-query';
const LANGUAGE = 'https://firebase.google.com/docs/rules/rules-language';
const QUOTAS = 'https://firebase.google.com/docs/firestore/quotas';
const CEL = 'https://github.com/google/cel-spec/blob/master/doc/langdef.md';

function firestoreRules(body: string, version = "rules_version = '2';"): string {
  return `${version}\nservice cloud.firestore {\n  match /databases/{database}/documents {\n${body}\n  }\n}\n`;
}

async function seed(env: RulesTestEnvironment, docs: Record<string, Record<string, unknown>>): Promise<void> {
  await env.withSecurityRulesDisabled(async (context: RulesTestContext) => {
    const db = context.firestore() as unknown as Firestore;
    for (const [path, data] of Object.entries(docs)) await setDoc(doc(db, path), data);
  });
}

function db(context: RulesTestContext): Firestore {
  return context.firestore() as unknown as Firestore;
}

// ---------------------------------------------------------------------------------------------------------
// Expressions: `allow get` on /expr/c<i> is the case's expression; succeed means it evaluated to true.

interface ExpressionCase {
  page: string;
  expression: string;
  allowed: boolean;
  /** Data of the document /expr/c<i>, read through `resource.data`. */
  data?: Record<string, unknown>;
}

const expressionCases: ExpressionCase[] = [
  // Boolean and error semantics
  { page: `${REF}/rules.Boolean`, expression: '(false && (1 / 0 == 0)) == false', allowed: true },
  { page: `${REF}/rules.Boolean`, expression: 'true || (1 / 0 == 0)', allowed: true },
  { page: `${LANGUAGE} (CEL error semantics: error || true is true)`, expression: '(1 / 0 == 0) || true', allowed: true },
  { page: `${LANGUAGE} (CEL error semantics: error && false is false)`, expression: '!((1 / 0 == 0) && false)', allowed: true },
  { page: `${LANGUAGE} (CEL error semantics: an error otherwise denies)`, expression: '!(1 / 0 == 0)', allowed: false },
  // Integer and Float
  { page: `${REF}/rules.Integer`, expression: '7 / 2 == 3 && -7 / 2 == -3', allowed: true },
  { page: `${REF}/rules.Integer`, expression: '-7 % 3 == -1', allowed: true },
  { page: `${REF}/rules.Integer (64-bit: overflow is an error, not a wrap-around)`, expression: '9223372036854775807 + 1 != 0', allowed: false },
  { page: `${REF}/rules.Integer`, expression: 'int("2") == 2 && int(2.0) == 2', allowed: true },
  { page: `${REF}/rules.Integer (coerced to float with a float)`, expression: '1 == 1.0 && 2 + 1.5 == 3.5', allowed: true },
  { page: `${REF}/rules.Float`, expression: 'float("2.2") == 2.2 && float(2) == 2.0', allowed: true },
  {
    page: `${REF}/rules.Float`,
    expression: 'resource.data.x is float && !(resource.data.n is float) && resource.data.n is int',
    allowed: true,
    data: { x: 1.5, n: 2 },
  },
  // String
  { page: `${REF}/rules.String`, expression: "'username' + '@domain.com' == 'username@domain.com'", allowed: true },
  { page: `${REF}/rules.String`, expression: "'abc'[0] == 'a' && 'abcdef'[0:3] == 'abc'", allowed: true },
  { page: `${REF}/rules.String#matches`, expression: "'user@domain.com'.matches('.*@domain[.]com')", allowed: true },
  { page: `${REF}/rules.String#matches (the whole string)`, expression: "'banana'.matches('an')", allowed: false },
  { page: `${REF}/rules.String#replace`, expression: "'banana'.replace('a', 'o') == 'bonono' && 'banana'.replace('ana', 'ee') == 'beena'", allowed: true },
  { page: `${REF}/rules.String#split`, expression: "'a/b/c'.split('/') == ['a', 'b', 'c']", allowed: true },
  { page: `${REF}/rules.String#size`, expression: "'abc'.size() == 3", allowed: true },
  { page: `${REF}/rules.String#lower`, expression: "'ABC123'.lower() == 'abc123' && 'abc123'.upper() == 'ABC123'", allowed: true },
  { page: `${REF}/rules.String#trim`, expression: "' a '.trim() == 'a'", allowed: true },
  { page: `${REF}/rules.String#toUtf8`, expression: "'**'.toUtf8() == b'\\x2A\\x2A'", allowed: true },
  { page: `${REF}/rules.String`, expression: 'string(true) == "true" && string(1) == "1" && string(2.0) == "2.0" && string(null) == "null"', allowed: true },
  // Bytes
  { page: `${REF}/rules.Bytes`, expression: "b'*' == b'\\x2A' && b'\\052' == b'*'", allowed: true },
  { page: `${REF}/rules.Bytes#toBase64`, expression: "b'\\xFB\\xEF\\xBE'.toBase64() == '----'", allowed: true },
  { page: `${REF}/rules.Bytes#toHexString`, expression: "b'\\x2A'.toHexString() == '2A' && b'\\xFF\\xFF'.size() == 2", allowed: true },
  // List
  { page: `${REF}/rules.List`, expression: "'a' in ['a', 'b'] && [1, 2, 3][1:3] == [2, 3]", allowed: true },
  { page: `${REF}/rules.List#hasOnly`, expression: "['a', 'b'].hasOnly(['a', 'b', 'c']) && !['a', 'b'].hasOnly(['a', 'c'])", allowed: true },
  { page: `${REF}/rules.List#hasAll`, expression: "['a', 'b'].hasAll(['a']) && ['a', 'b'].hasAny(['c', 'b'])", allowed: true },
  { page: `${REF}/rules.List#join`, expression: "['a', 'b'].join('/') == 'a/b'", allowed: true },
  { page: `${REF}/rules.List#removeAll`, expression: '[1, 2, 3, 2].removeAll([2]) == [1, 3] && [1].concat([2]) == [1, 2]', allowed: true },
  { page: `${REF}/rules.List#toSet`, expression: "['a', 'a', 'b'].toSet().size() == 2", allowed: true },
  { page: `${CEL} (list concatenation with +)`, expression: '[1] + [2] == [1, 2]', allowed: true },
  { page: `${REF}/rules.List (index out of range is an error)`, expression: '!([1][1] == 2)', allowed: false },
  // Map and MapDiff
  { page: `${REF}/rules.Map#get`, expression: '{"a": 3,"b": 2}.get("c", 7) == 7 && {"a": {"b": 1},"c": 2}.get(["a", "b"], 7) == 1', allowed: true },
  { page: `${REF}/rules.Map`, expression: "'a' in {'a': 1} && {'a': 1}.keys() == ['a'] && {'a': 1}.values() == [1] && {'a': 1}.size() == 1", allowed: true },
  { page: `${REF}/rules.Map (a missing key is an error, not null)`, expression: "!({'a': 1}.b == 2)", allowed: false },
  {
    page: `${REF}/rules.MapDiff#affectedKeys`,
    expression: '({"a":0, "c":0, "u":0}).diff({"r":0, "c":1, "u": 0}).affectedKeys() == ["a", "r", "c"].toSet()',
    allowed: true,
  },
  {
    page: `${REF}/rules.MapDiff#changedKeys`,
    expression: '{"a":0}.diff({"a":1, "b":4}).changedKeys() == ["a"].toSet() && {}.diff({"a":1}).removedKeys() == ["a"].toSet()',
    allowed: true,
  },
  {
    page: `${REF}/rules.MapDiff#unchangedKeys`,
    expression: '{"a": 0}.diff({"a":0}).unchangedKeys() == ["a"].toSet() && {"a":1}.diff({}).addedKeys() == ["a"].toSet()',
    allowed: true,
  },
  // Set
  { page: `${REF}/rules.Set#difference`, expression: "['a','b'].toSet().difference(['a','c'].toSet()) == ['b'].toSet()", allowed: true },
  {
    page: `${REF}/rules.Set#union`,
    expression: "['a','b'].toSet().union(['a','c'].toSet()) == ['a', 'b', 'c'].toSet() && ['a','b'].toSet().intersection(['a','c'].toSet()) == ['a'].toSet()",
    allowed: true,
  },
  { page: `${REF}/rules.Set#hasAll`, expression: "['d','e','f'].toSet().hasAll(['d','e']) && !['a','b'].toSet().hasOnly(['a','c'])", allowed: true },
  // Timestamp and Duration
  { page: `${REF}/rules.timestamp#date`, expression: `timestamp.date(1984, 1, 2) == timestamp.value(${Date.UTC(1984, 0, 2)})`, allowed: true },
  {
    page: `${REF}/rules.Timestamp_`,
    expression: 'timestamp.value(0).year() == 1970 && timestamp.value(0).month() == 1 && timestamp.value(0).day() == 1',
    allowed: true,
  },
  {
    page: `${REF}/rules.Timestamp_#toMillis`,
    expression: 'timestamp.value(1234).toMillis() == 1234 && timestamp.value(1234).nanos() == 234000000',
    allowed: true,
  },
  {
    page: `${REF}/rules.duration#value`,
    expression: "duration.value(1, 'w') == duration.value(7, 'd') && duration.value(90, 's').seconds() == 90",
    allowed: true,
  },
  { page: `${REF}/rules.duration#abs`, expression: "duration.abs(duration.value(-10, 's')) == duration.value(10, 's')", allowed: true },
  {
    page: `${REF}/rules.Timestamp_ (arithmetic with durations)`,
    expression:
      "timestamp.value(1000) + duration.value(1, 's') == timestamp.value(2000) && timestamp.value(2000) - timestamp.value(1000) == duration.value(1, 's')",
    allowed: true,
  },
  { page: `${REF}/rules.firestore.Request#time`, expression: 'request.time > timestamp.date(2020, 1, 1) && request.time is timestamp', allowed: true },
  {
    page: `${REF}/rules.Timestamp_`,
    expression: 'resource.data.t == timestamp.date(2020, 1, 1)',
    allowed: true,
    data: { t: Timestamp.fromMillis(Date.UTC(2020, 0, 1)) },
  },
  // LatLng
  {
    page: `${REF}/rules.latlng#value`,
    expression: 'latlng.value(45.0, 90.0).latitude() == 45.0 && latlng.value(45.0, 90.0).longitude() == 90.0',
    allowed: true,
  },
  {
    page: `${REF}/rules.LatLng_#distance`,
    expression: 'latlng.value(0.0, 0.0).distance(latlng.value(0.0, 1.0)) > 111000 && latlng.value(0.0, 0.0).distance(latlng.value(0.0, 1.0)) < 111400',
    allowed: true,
  },
  // Path
  {
    page: `${REF}/rules.Path`,
    expression: "request.path[3] == 'expr' && request.path == /databases/$(database)/documents/expr/$(request.path[4])",
    allowed: true,
  },
  {
    page: `${REF}/rules.Path#bind`,
    expression: '(/path/$(foo)/$(bar)).bind({"foo": "something", "bar": "another"}) == /path/something/another',
    allowed: true,
  },
  {
    page: `${REF}/rules.firestore.Resource#__name__`,
    expression: 'resource["__name__"] == /databases/$(database)/documents/expr/$(resource.id)',
    allowed: true,
  },
  // math and hashing
  { page: `${REF}/rules.math`, expression: 'math.abs(-1) == 1 && math.ceil(2.1) == 3 && math.floor(2.7) == 2 && math.round(2.5) == 3', allowed: true },
  { page: `${REF}/rules.math`, expression: 'math.sqrt(2.25) == 1.5 && math.pow(1.5, 2) == 2.25 && math.isNaN(100) == false', allowed: true },
  {
    page: `${REF}/rules.hashing#sha256`,
    expression: "hashing.sha256('abc').toHexString() == 'BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD'",
    allowed: true,
  },
  // Type checks, precedence, debug
  {
    page: `${LANGUAGE} (is)`,
    expression:
      "'a' is string && 1 is int && 1.5 is float && 1 is number && [1] is list && {} is map && true is bool && request.path is path && duration.value(1, 's') is duration && latlng.value(1.0, 1.0) is latlng",
    allowed: true,
  },
  { page: `${LANGUAGE} (operator precedence)`, expression: '1 + 2 * 3 == 7 && 1 + 1 in [2] && !false || false', allowed: true },
  { page: `${REF}/rules.debug`, expression: 'debug(debug(1) == 1)', allowed: true },
];

withRules(
  'rulesconf',
  'expressions',
  firestoreRules(expressionCases.map((c, i) => `    match /expr/c${i} { allow get: if ${c.expression}; }`).join('\n')),
  (env) => {
    beforeAll(async () => {
      await seed(env(), Object.fromEntries(expressionCases.map((c, i) => [`expr/c${i}`, c.data ?? {}])));
    });
    it.each(expressionCases.map((c, i) => [c.page, c.expression, c, i] as const))('%s: %s', async (_page, _expression, c, i) => {
      const read = getDoc(doc(db(env().authenticatedContext('alice')), `expr/c${i}`));
      await (c.allowed ? assertSucceeds(read) : assertFails(read));
    });
  },
);

// ---------------------------------------------------------------------------------------------------------
// Structure: matching, overlapping matches, methods

withRules(
  'rulesconf',
  'match structure (rules_version 2)',
  firestoreRules(`
    match /cities/{city} {
      allow read: if city == 'SF';
      match /landmarks/{landmark} { allow read: if landmark == 'coit'; }
    }
    match /tree/{a}/{rest=**} { allow read: if a == 'open'; }
    match /overlap/{id} { allow read: if false; }
    match /overlap/{document=**} { allow read: if true; }
    match /erroring/{id} { allow read: if resource.data.missing == 1; }
    match /erroring/{id} { allow read: if true; }
    match /granular/{id} {
      allow get: if true;
      allow create: if true;
    }
    match /broad/{id} { allow read, write: if true; }`),
  (env) => {
    const alice = () => db(env().authenticatedContext('alice'));
    it(`${STRUCTURE}#basic_readwrite_rules: a wildcard binds the document id`, async () => {
      await assertSucceeds(getDoc(doc(alice(), 'cities/SF')));
      await assertFails(getDoc(doc(alice(), 'cities/LA')));
    });
    it(`${STRUCTURE}#hierarchical_data: nested matches are relative and rules do not cascade`, async () => {
      await assertSucceeds(getDoc(doc(alice(), 'cities/LA/landmarks/coit')));
      await assertFails(getDoc(doc(alice(), 'cities/SF/landmarks/other')));
    });
    it(`${STRUCTURE}#version_2: a recursive wildcard matches zero or more segments`, async () => {
      await assertSucceeds(getDoc(doc(alice(), 'tree/open')));
      await assertSucceeds(getDoc(doc(alice(), 'tree/open/x/y/z/w')));
      await assertFails(getDoc(doc(alice(), 'tree/closed')));
    });
    it(`${STRUCTURE}#overlapping_match_statements: any true allow wins`, async () => {
      await assertSucceeds(getDoc(doc(alice(), 'overlap/x')));
    });
    it(`${LANGUAGE}#match: an allow that errors does not block another that allows`, async () => {
      await assertSucceeds(getDoc(doc(alice(), 'erroring/x')));
    });
    it(`${STRUCTURE}#granular_operations: get does not allow list, create does not allow update or delete`, async () => {
      await assertSucceeds(getDoc(doc(alice(), 'granular/x')));
      await assertFails(getDocs(collection(alice(), 'granular')));
      await assertSucceeds(setDoc(doc(alice(), 'granular/x'), { a: 1 }));
      await assertFails(setDoc(doc(alice(), 'granular/x'), { a: 2 }));
      await assertFails(deleteDoc(doc(alice(), 'granular/x')));
    });
    it(`${STRUCTURE}#granular_operations: read covers get and list, write covers create, update and delete`, async () => {
      await assertSucceeds(getDocs(collection(alice(), 'broad')));
      await assertSucceeds(setDoc(doc(alice(), 'broad/x'), { a: 1 }));
      await assertSucceeds(updateDoc(doc(alice(), 'broad/x'), { a: 2 }));
      await assertSucceeds(deleteDoc(doc(alice(), 'broad/x')));
    });
    it(`${STRUCTURE}: no matching allow statement denies`, async () => {
      await assertFails(getDoc(doc(alice(), 'elsewhere/x')));
    });
  },
);

withRules('rulesconf', 'match structure (rules_version 1)', firestoreRules('    match /cities/{city}/{document=**} { allow read: if true; }', ''), (env) => {
  it(`${STRUCTURE}#version_1: a recursive wildcard matches one or more segments, not the empty path`, async () => {
    const alice = db(env().authenticatedContext('alice'));
    await assertFails(getDoc(doc(alice, 'cities/SF')));
    await assertSucceeds(getDoc(doc(alice, 'cities/SF/landmarks/coit')));
  });
});

// ---------------------------------------------------------------------------------------------------------
// Conditions: auth, request.resource, resource, other documents, functions

withRules(
  'rulesconf',
  'conditions',
  firestoreRules(`
    function signedIn() { return request.auth != null; }
    function isAdmin(userId) {
      let admin = exists(/databases/$(database)/documents/admins/$(userId));
      return admin;
    }
    match /users/{userId} {
      allow read, update, delete: if signedIn() && request.auth.uid == userId;
      allow create: if signedIn();
    }
    match /claims/{id} { allow read: if request.auth.token.role == 'admin' && request.auth.token.email == 'a@example.com'; }
    match /cities/{city} {
      allow read: if resource.data.visibility == 'public';
      allow create: if request.resource.data.population > 0 && request.resource.data.keys().hasOnly(['population', 'name']);
      allow update: if request.resource.data.population > 0 && request.resource.data.name == resource.data.name;
      allow delete: if isAdmin(request.auth.uid);
    }
    match /admin-only/{id} { allow read: if get(/databases/$(database)/documents/users/$(request.auth.uid)).data.admin == true; }
    match /stamped/{id} { allow create: if request.resource.data.at == request.time; }`),
  (env) => {
    beforeAll(async () => {
      await seed(env(), {
        'cities/SF': { visibility: 'public', name: 'SF', population: 1 },
        'cities/LA': { visibility: 'private', name: 'LA', population: 1 },
        'users/root': { admin: true },
        'users/alice': { admin: false },
        'admins/root': {},
      });
    });
    it(`${CONDITIONS}#authentication: request.auth is null when signed out`, async () => {
      await assertFails(setDoc(doc(db(env().unauthenticatedContext()), 'users/x'), {}));
      await assertSucceeds(setDoc(doc(db(env().authenticatedContext('bob')), 'users/x'), {}));
    });
    it(`${CONDITIONS}#authentication: request.auth.uid matches the user document`, async () => {
      await assertSucceeds(getDoc(doc(db(env().authenticatedContext('alice')), 'users/alice')));
      await assertFails(getDoc(doc(db(env().authenticatedContext('bob')), 'users/alice')));
    });
    it(`${REF}/rules.firestore.Request#auth: token claims, including custom claims`, async () => {
      await assertSucceeds(getDoc(doc(db(env().authenticatedContext('alice', { role: 'admin', email: 'a@example.com' })), 'claims/x')));
      await assertFails(getDoc(doc(db(env().authenticatedContext('alice', { role: 'member', email: 'a@example.com' })), 'claims/x')));
    });
    it(`${CONDITIONS}#data_validation: resource.data is the stored document`, async () => {
      await assertSucceeds(getDoc(doc(db(env().authenticatedContext('alice')), 'cities/SF')));
      await assertFails(getDoc(doc(db(env().authenticatedContext('alice')), 'cities/LA')));
    });
    it(`${CONDITIONS}#data_validation: request.resource is the document as it would be after the write`, async () => {
      const alice = db(env().authenticatedContext('alice'));
      await assertSucceeds(setDoc(doc(alice, 'cities/NY'), { population: 5, name: 'NY' }));
      await assertFails(setDoc(doc(alice, 'cities/BO'), { population: 0, name: 'BO' }));
      await assertFails(setDoc(doc(alice, 'cities/DC'), { population: 5, name: 'DC', extra: true }));
      await assertSucceeds(updateDoc(doc(alice, 'cities/NY'), { population: 6 }));
      await assertFails(updateDoc(doc(alice, 'cities/NY'), { name: 'New York' }));
    });
    it(`${REF}/rules.firestore.Request#time: equals the server timestamp of the write`, async () => {
      const { serverTimestamp } = await import('firebase/firestore');
      const alice = db(env().authenticatedContext('alice'));
      await assertSucceeds(setDoc(doc(alice, 'stamped/now'), { at: serverTimestamp() }));
      await assertFails(setDoc(doc(alice, 'stamped/then'), { at: Timestamp.fromMillis(0) }));
    });
    it(`${CONDITIONS}#access_other_documents: get() and exists() read other documents`, async () => {
      await assertSucceeds(getDoc(doc(db(env().authenticatedContext('root')), 'admin-only/x')));
      await assertFails(getDoc(doc(db(env().authenticatedContext('alice')), 'admin-only/x')));
      await assertFails(getDoc(doc(db(env().authenticatedContext('nobody')), 'admin-only/x')));
      await assertSucceeds(deleteDoc(doc(db(env().authenticatedContext('root')), 'cities/LA')));
      await assertFails(deleteDoc(doc(db(env().authenticatedContext('alice')), 'cities/SF')));
    });
  },
);

withRules(
  'rulesconf',
  'batched writes: getAfter and existsAfter',
  firestoreRules(`
    match /orgs/{orgId} {
      allow create: if existsAfter(/databases/$(database)/documents/orgs/$(orgId)/members/$(request.auth.uid))
        && getAfter(/databases/$(database)/documents/orgs/$(orgId)/members/$(request.auth.uid)).data.role == 'owner';
      match /members/{uid} {
        allow create: if uid == request.auth.uid && getAfter(/databases/$(database)/documents/orgs/$(orgId)).data.owner == uid
          && !exists(/databases/$(database)/documents/orgs/$(orgId));
      }
    }`),
  (env) => {
    it(`${REF}/rules.firestore#getAfter: a batch sees its own writes; get() and exists() see the state before it`, async () => {
      const alice = db(env().authenticatedContext('alice'));
      const batch = writeBatch(alice);
      batch.set(doc(alice, 'orgs/A'), { owner: 'alice' });
      batch.set(doc(alice, 'orgs/A/members/alice'), { role: 'owner' });
      await assertSucceeds(batch.commit());
    });
    it(`${REF}/rules.firestore#existsAfter: without the member write the organization cannot be created`, async () => {
      const bob = db(env().authenticatedContext('bob'));
      await assertFails(setDoc(doc(bob, 'orgs/B'), { owner: 'bob' }));
    });
  },
);

// ---------------------------------------------------------------------------------------------------------
// Limits

const lookups = (n: number, collectionId: string, suffix = '') =>
  Array.from({ length: n }, (_, i) => `!exists(/databases/$(database)/documents/${collectionId}/$('d${i}'${suffix}))`).join(' && ');

withRules(
  'rulesconf',
  'limits',
  firestoreRules(`
    match /ten/{id} { allow read: if ${lookups(10, 'x')}; }
    match /eleven/{id} { allow read: if ${lookups(11, 'x')}; }
    match /pairs/{id} { allow create: if ${lookups(2, 'y', ' + id')}; }
    match /eights/{id} { allow create: if ${lookups(8, 'z', ' + id')}; }
    match /expressions/{id} { allow read: if [${Array(1000).fill('1').join(', ')}].size() > 0; }
    ${Array.from({ length: 21 }, (_, i) => `function f${i + 1}() { return ${i + 1 < 21 ? `f${i + 2}()` : 'true'}; }`).join('\n    ')}
    ${Array.from({ length: 20 }, (_, i) => `function g${i + 1}() { return ${i + 1 < 20 ? `g${i + 2}()` : 'true'}; }`).join('\n    ')}
    match /deep/{id} { allow read: if f1(); }
    match /shallow/{id} { allow read: if g1(); }`),
  (env) => {
    const alice = () => db(env().authenticatedContext('alice'));
    it(`${QUOTAS}#security_rules: 10 document lookups are allowed for a single-document request`, async () => {
      await assertSucceeds(getDoc(doc(alice(), 'ten/x')));
    });
    it(`${QUOTAS}#security_rules: an 11th document lookup denies a single-document request`, async () => {
      await assertFails(getDoc(doc(alice(), 'eleven/x')));
    });
    it(`${QUOTAS}#security_rules: a batch of 3 writes x 2 lookups uses 6 of its 20`, async () => {
      const client = alice();
      const batch = writeBatch(client);
      for (const id of ['a', 'b', 'c']) batch.set(doc(client, `pairs/${id}`), {});
      await assertSucceeds(batch.commit());
    });
    it(`${QUOTAS}#security_rules: a batch may make 20 lookups, not more (2 x 8 distinct succeed, 3 x 8 fail)`, async () => {
      const client = alice();
      const two = writeBatch(client);
      for (const id of ['a', 'b']) two.set(doc(client, `eights/${id}`), {});
      await assertSucceeds(two.commit());
      const three = writeBatch(client);
      for (const id of ['c', 'd', 'e']) three.set(doc(client, `eights/${id}`), {});
      await assertFails(three.commit());
    });
    it(`${QUOTAS}#security_rules: more than 1,000 expressions evaluated deny the request`, async () => {
      await assertFails(getDoc(doc(alice(), 'expressions/x')));
    });
    it(`${LANGUAGE}#function: the call stack depth is limited to 20`, async () => {
      await assertSucceeds(getDoc(doc(alice(), 'shallow/x')));
      await assertFails(getDoc(doc(alice(), 'deep/x')));
    });
  },
);

// ---------------------------------------------------------------------------------------------------------
// Queries: rules are not filters

withRules(
  'rulesconf',
  'queries',
  firestoreRules(`
    match /stories/{storyid} {
      function authorOrPublished() {
        return resource.data.published == true || request.auth.uid == resource.data.author;
      }
      allow list: if request.query.limit <= 10 && authorOrPublished();
      allow get: if authorOrPublished();
    }
    match /mydocuments/{doc} { allow read: if resource.data.x > 5; }
    match /rooms/{id} { allow list: if request.auth.uid in resource.data.members; }
    match /{path=**}/posts/{post} { allow read: if request.auth != null; }
    match /{path=**}/members/{m} { allow list: if resource.data.uid == request.auth.uid; }
    match /orgs/{orgId}/members/{uid} { allow read: if true; }
    match /sorted/{id} { allow list: if request.query.orderBy.name == 'DESC'; }`),
  (env) => {
    beforeAll(async () => {
      // Every stored document would pass each rule: the denials below come from the queries, not the data.
      await seed(env(), {
        'stories/s1': { author: 'alice', published: false },
        'mydocuments/d1': { x: 6 },
        'rooms/r1': { members: ['alice'] },
        'orgs/A/members/alice': { uid: 'alice' },
        'forums/f/posts/p': { author: 'alice' },
      });
    });
    const alice = () => db(env().authenticatedContext('alice'));
    it(`${QUERIES}#rules_are_not_filters: a query that could return a document the rules deny fails`, async () => {
      await assertFails(getDocs(query(collection(alice(), 'stories'), limit(5))));
    });
    it(`${QUERIES}#secure_and_query_documents_based_on_authuid: the query that carries the rule's constraint succeeds`, async () => {
      await assertSucceeds(getDocs(query(collection(alice(), 'stories'), where('author', '==', 'alice'), limit(5))));
    });
    it(`${QUERIES}#evaluating_constraints_on_queries: request.query.limit`, async () => {
      await assertFails(getDocs(query(collection(alice(), 'stories'), where('author', '==', 'alice'))));
      await assertFails(getDocs(query(collection(alice(), 'stories'), where('author', '==', 'alice'), limit(11))));
      await assertSucceeds(getDocs(query(collection(alice(), 'stories'), where('published', '==', true), limit(10))));
    });
    it(`${REF}/rules.firestore.Request#query: orderBy is a map of field to direction`, async () => {
      await assertSucceeds(getDocs(query(collection(alice(), 'sorted'), orderBy('name', 'desc'))));
      await assertFails(getDocs(query(collection(alice(), 'sorted'), orderBy('name'))));
    });
    it(`${QUERIES}#or_queries: every comparison value must meet the rule`, async () => {
      await assertFails(getDocs(query(collection(alice(), 'mydocuments'), or(where('x', '==', 1), where('x', '==', 6)))));
      await assertFails(getDocs(query(collection(alice(), 'mydocuments'), where('x', 'in', [1, 3, 6, 42, 99]))));
      await assertSucceeds(getDocs(query(collection(alice(), 'mydocuments'), or(where('x', '==', 6), where('x', '==', 42)))));
      await assertSucceeds(getDocs(query(collection(alice(), 'mydocuments'), where('x', 'in', [6, 42, 99, 105, 200]))));
    });
    it(`${QUERIES}: array-contains the caller proves \`uid in resource.data.members\``, async () => {
      await assertSucceeds(getDocs(query(collection(alice(), 'rooms'), where('members', 'array-contains', 'alice'))));
      await assertFails(getDocs(query(collection(alice(), 'rooms'), where('members', 'array-contains', 'bob'))));
    });
    it(`${QUERIES}#secure_and_query_documents_based_on_collection_groups: a rule for the collection group allows the query`, async () => {
      await assertSucceeds(getDocs(query(collectionGroup(alice(), 'posts'), where('author', '==', 'alice'))));
      await assertFails(getDocs(collectionGroup(db(env().unauthenticatedContext()), 'posts')));
    });
    it(`${QUERIES}#secure_and_query_documents_based_on_collection_groups: a collection group query constrained to the caller`, async () => {
      await assertSucceeds(getDocs(query(collectionGroup(alice(), 'members'), where('uid', '==', 'alice'))));
      await assertFails(getDocs(query(collectionGroup(alice(), 'members'), where('uid', '==', 'bob'))));
      await assertFails(getDocs(collectionGroup(alice(), 'members')));
    });
  },
);

withRules(
  'rulesconf',
  'collection group rules for one path only',
  firestoreRules('    match /forums/{forumid}/posts/{post} { allow read: if true; }'),
  (env) => {
    it(`${QUERIES}#secure_and_query_documents_based_on_collection_groups: without a {path=**} rule the group query fails`, async () => {
      const alice = db(env().authenticatedContext('alice'));
      await assertFails(getDocs(collectionGroup(alice, 'posts')));
      await assertSucceeds(getDocs(collection(alice, 'forums/technology/posts')));
    });
  },
);

// ---------------------------------------------------------------------------------------------------------
// Loading rules, coverage

describe('loading rules', () => {
  it(`${LANGUAGE}: a syntax error is refused when the rules are loaded`, async () => {
    await expect(
      initializeTestEnvironment({
        projectId: `demo-rulesconf-${RUN}-bad`,
        firestore: { ...emulator(), rules: firestoreRules('    match /a/{b} { allow read: if 1 +; }') },
      }),
    ).rejects.toThrow();
  });

  it.skipIf(!offlineEmulator)('refuses an unknown function, naming it with its line (offline emulator)', async () => {
    await expect(
      initializeTestEnvironment({
        projectId: `demo-rulesconf-${RUN}-fn`,
        firestore: { ...emulator(), rules: firestoreRules('    match /a/{b} { allow read: if isAdmin(); }') },
      }),
    ).rejects.toThrow(/unknown function 'isAdmin'/);
  });

  it.skipIf(!offlineEmulator)('refuses recursion (offline emulator)', async () => {
    await expect(
      initializeTestEnvironment({
        projectId: `demo-rulesconf-${RUN}-rec`,
        firestore: { ...emulator(), rules: firestoreRules('    function f() { return f(); }\n    match /a/{b} { allow read: if f(); }') },
      }),
    ).rejects.toThrow(/recursive function calls are not allowed/);
  });
});

withRules('rulesconf', 'coverage', firestoreRules("    match /cov/{id} { allow read: if id == 'yes'; }"), (env) => {
  it('GET /emulator/v1/projects/{id}:ruleCoverage reports the evaluated expressions', async () => {
    const alice = db(env().authenticatedContext('alice'));
    await assertSucceeds(getDoc(doc(alice, 'cov/yes')));
    await assertFails(getDoc(doc(alice, 'cov/no')));
    const { host, port } = emulator();
    const response = await fetch(`http://${host}:${port}/emulator/v1/projects/${env().projectId}:ruleCoverage`);
    expect(response.ok).toBe(true);
    const report = (await response.json()) as { rules: { files: unknown[] }; report: unknown[] };
    expect(report.rules.files).toHaveLength(1);
    expect(JSON.stringify(report.report)).toMatch(/"boolValue":true/);
  });

  it.skipIf(!offlineEmulator)('the offline emulator reports the value counts of each expression', async () => {
    const { host, port } = emulator();
    const report = (await (await fetch(`http://${host}:${port}/emulator/v1/projects/${env().projectId}:ruleCoverage`)).json()) as {
      report: { values: { value: unknown; count: number }[] }[];
    };
    expect(report.report[0].values).toEqual(
      expect.arrayContaining([
        { value: { boolValue: true }, count: 1 },
        { value: { boolValue: false }, count: 1 },
      ]),
    );
  });
});

withRules(
  'rulesconf',
  'lookup counts (offline emulator extension :rulesDecisions)',
  firestoreRules(`
    function member(orgId) { return get(/databases/$(database)/documents/orgs/$(orgId)/members/$(request.auth.uid)).data.role != null; }
    match /orgs/{orgId}/contacts/{id} { allow read: if member(orgId) && member(orgId); }`),
  (env) => {
    it.skipIf(!offlineEmulator)('a repeated get() of the same document is one lookup', async () => {
      await seed(env(), { 'orgs/A/members/alice': { role: 'member' } });
      const { host, port } = emulator();
      await fetch(`http://${host}:${port}/emulator/v1/projects/${env().projectId}:rulesDecisions`, { method: 'DELETE' });
      await assertSucceeds(getDoc(doc(db(env().authenticatedContext('alice')), 'orgs/A/contacts/c1')));
      const { decisions } = (await (await fetch(`http://${host}:${port}/emulator/v1/projects/${env().projectId}:rulesDecisions`)).json()) as {
        decisions: { method: string; allowed: boolean; lookups: number }[];
      };
      expect(decisions).toEqual([expect.objectContaining({ method: 'get', allowed: true, lookups: 1 })]);
    });
  },
);
