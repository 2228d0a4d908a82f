/**
 * Rules behaviours where production differed from this emulator (issue 12), through
 * @firebase/rules-unit-testing, so the file runs unchanged against Google's emulator. Where production and
 * Google's emulator differ, the expectation is production's (the emulator's README lists those cases).
 */
import { assertFails, assertSucceeds, type RulesTestEnvironment } from '@firebase/rules-unit-testing';
import { Timestamp, collection, doc, getDoc, getDocs, query, setDoc, where, type Firestore } from 'firebase/firestore';
import { beforeAll, expect, it } from 'vitest';
import { withRules } from './environments';

function aliceDb(env: RulesTestEnvironment): Firestore {
  return env.authenticatedContext('alice').firestore() as unknown as Firestore;
}

interface ExpressionCase {
  why: string;
  expression: string;
  allowed: boolean;
}

// Each case is the condition of `allow get` on /expr/c<i>.
const expressionCases: ExpressionCase[] = [
  { why: 'production has no bool() function: calling it is an error', expression: "bool('true') == true", allowed: false },
  { why: 'production has no math.isInfinite(): calling it is an error', expression: 'math.isInfinite(1.5) == false', allowed: false },
  { why: 'math.isNaN() exists (control for the case above)', expression: 'math.isNaN(1.5) == false', allowed: true },
  { why: 'path() takes only a string ("Expected: path(string)")', expression: "path(path('/a/b')) == path('/a/b')", allowed: false },
  { why: 'path() of a string (control for the case above)', expression: "path('/a/b') == /a/b", allowed: true },
  {
    why: 'bind() fills {name} segments of a path built from a string',
    expression: "path('users/{uid}').bind({'uid': 'alice'}) == path('users/alice')",
    allowed: true,
  },
  { why: 'hashing.crc32 bytes are little-endian', expression: "hashing.crc32('123456789').toHexString() == '2639F4CB'", allowed: true },
  { why: 'hashing.crc32c bytes are little-endian', expression: "hashing.crc32c('123456789').toHexString() == '839206E3'", allowed: true },
  { why: 'Map.get with a key path through a string returns the default', expression: "{'a': 'text'}.get(['a', 'b'], 'DEF') == 'DEF'", allowed: true },
  { why: 'Map.get with a key path through an int returns the default', expression: "{'a': 1}.get(['a', 'b'], 'DEF') == 'DEF'", allowed: true },
];

withRules(
  'rulesfid',
  'expressions evaluated as production does',
  `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
${expressionCases.map((c, i) => `    match /expr/c${i} { allow get: if ${c.expression}; }`).join('\n')}
  }
}
`,
  (env) => {
    it.each(expressionCases.map((c, i) => [c.why, c.expression, c, i] as const))('%s: %s', async (_why, _expression, c, i) => {
      const read = getDoc(doc(aliceDb(env()), `expr/c${i}`));
      await (c.allowed ? assertSucceeds(read) : assertFails(read));
    });
  },
);

withRules(
  'rulesfid',
  'functions declared at file level, outside the service',
  `rules_version = '2';
function isAlice() { return request.auth != null && request.auth.uid == 'alice'; }
service cloud.firestore {
  match /databases/{database}/documents {
    match /notes/{id} { allow get: if isAlice() && named(id); }
  }
}
function named(id) { return id == 'n1'; }
`,
  (env) => {
    it('compile, and are called from the rules of the service', async () => {
      await assertSucceeds(getDoc(doc(aliceDb(env()), 'notes/n1')));
      await assertFails(getDoc(doc(aliceDb(env()), 'notes/n2')));
      await assertFails(getDoc(doc(env().authenticatedContext('bob').firestore() as unknown as Firestore, 'notes/n1')));
    });
  },
);

withRules(
  'rulesfid',
  'queries with filter values that hold integers or timestamps, under allow-all rules',
  `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /{document=**} { allow read, write: if true; }
  }
}
`,
  (env) => {
    const at = Timestamp.fromMillis(Date.UTC(2024, 0, 2));
    beforeAll(async () => {
      await env().withSecurityRulesDisabled(async (context) => {
        const db = context.firestore() as unknown as Firestore;
        await setDoc(doc(db, 'typed/t1'), { at, list: [1, 2], map: { n: 1 } });
      });
    });
    it.each([
      ['== Timestamp', () => where('at', '==', at)],
      ['in [Timestamp]', () => where('at', 'in', [at])],
      ['== [1, 2]', () => where('list', '==', [1, 2])],
      ['in [[1, 2]]', () => where('list', 'in', [[1, 2]])],
      ['== {n: 1}', () => where('map', '==', { n: 1 })],
      ['array-contains 1', () => where('list', 'array-contains', 1)],
    ] as const)('%s is judged and answered', async (_label, filter) => {
      const snapshot = await assertSucceeds(getDocs(query(collection(aliceDb(env()), 'typed'), filter())));
      expect(snapshot.docs.map((d) => d.id)).toEqual(['t1']);
    });
  },
);

withRules(
  'rulesfid',
  'list rules that ask about unknown values with integers or timestamps',
  `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /tagged/{id} {
      // Each left operand is unknown for a query (an error), so only \`|| true\` allows.
      allow list: if ([1, 2] in resource.data.tags) || (1 in resource.data) || (request.time in resource.data) || true;
    }
  }
}
`,
  (env) => {
    beforeAll(async () => {
      await env().withSecurityRulesDisabled(async (context) => {
        await setDoc(doc(context.firestore() as unknown as Firestore, 'tagged/t1'), { tags: ['x'] });
      });
    });
    it('are errors absorbed by || true, not a failure of the request', async () => {
      const snapshot = await assertSucceeds(getDocs(query(collection(aliceDb(env()), 'tagged'), where('tags', 'array-contains', 'x'))));
      expect(snapshot.docs.map((d) => d.id)).toEqual(['t1']);
    });
  },
);
