/**
 * "Rules are not filters" (https://firebase.google.com/docs/firestore/security/rules-query): list requests are
 * judged from the query's constraints, not from the documents that exist, through AccessPolicy.authorizeQuery.
 */
import { describe, expect, it } from 'vitest';
import type { StructuredQuery, Value } from '../../src/engine/api';
import { ROOT, anonymous, denial, doc, name, reader, rules, toValue, user } from './support';

type Filter = NonNullable<StructuredQuery['where']>;

const eq = (field: string, value: unknown): Filter => ({ fieldFilter: { field: { fieldPath: field }, op: 'EQUAL', value: toValue(value) } });
const op = (field: string, operator: string, value: unknown): Filter =>
  ({ fieldFilter: { field: { fieldPath: field }, op: operator, value: toValue(value) } }) as Filter;
const and = (...filters: Filter[]): Filter => ({ compositeFilter: { op: 'AND', filters } });
const or = (...filters: Filter[]): Filter => ({ compositeFilter: { op: 'OR', filters } });
const ref = (path: string): Value => ({ referenceValue: name(path) });

function query(collectionId: string, extra: Partial<StructuredQuery> = {}, allDescendants = false): StructuredQuery {
  return { from: [{ collectionId, allDescendants }], ...extra };
}

/** Every stored document would pass the rule: the decisions below cannot come from the data. */
const everyStoryByAlice = reader(doc('stories/s1', { author: 'alice', published: false }), doc('stories/s2', { author: 'alice', published: true }));

describe('queries and security rules: secure by auth.uid', () => {
  const compiled = rules('    match /stories/{storyid} { allow read, write: if request.auth != null && request.auth.uid == resource.data.author; }');

  it('denies a query without the constraint, even if every existing document would pass', () => {
    const decision = compiled.policy.authorizeQuery(user('alice'), ROOT, query('stories'), everyStoryByAlice);
    expect(decision.allowed).toBe(false);
    expect(denial(decision)).toMatch(/resource.data.author is not constrained by the query/);
  });

  it('allows the query that carries the same constraint as the rule', () => {
    expect(compiled.policy.authorizeQuery(user('alice'), ROOT, query('stories', { where: eq('author', 'alice') }), everyStoryByAlice).allowed).toBe(true);
  });

  it("denies the query for another user's documents", () => {
    expect(compiled.policy.authorizeQuery(user('alice'), ROOT, query('stories', { where: eq('author', 'bob') }), everyStoryByAlice).allowed).toBe(false);
  });
});

describe('queries and security rules: secure by a field', () => {
  const compiled = rules(
    '    match /stories/{storyid} { allow read: if resource.data.published == true || (request.auth != null && request.auth.uid == resource.data.author); }',
  );

  it('allows published == true for anyone', () => {
    expect(compiled.policy.authorizeQuery(anonymous(), ROOT, query('stories', { where: eq('published', true) }), everyStoryByAlice).allowed).toBe(true);
  });

  it("allows an author's own stories: the unknown `published` is absorbed by ||", () => {
    expect(compiled.policy.authorizeQuery(user('alice'), ROOT, query('stories', { where: eq('author', 'alice') }), everyStoryByAlice).allowed).toBe(true);
  });

  it('denies published == false for someone else, and an unfiltered query', () => {
    expect(compiled.policy.authorizeQuery(user('bob'), ROOT, query('stories', { where: eq('published', false) }), everyStoryByAlice).allowed).toBe(false);
    expect(compiled.policy.authorizeQuery(user('alice'), ROOT, query('stories'), everyStoryByAlice).allowed).toBe(false);
  });

  it('combines the constraints of an AND', () => {
    const where = and(eq('published', false), eq('author', 'alice'));
    expect(compiled.policy.authorizeQuery(user('alice'), ROOT, query('stories', { where }), everyStoryByAlice).allowed).toBe(true);
  });
});

describe('OR queries: every comparison value must meet the rule', () => {
  const compiled = rules('    match /mydocuments/{doc} { allow read: if resource.data.x > 5; }');
  const list = (where: Filter) => compiled.policy.authorizeQuery(user('u'), ROOT, query('mydocuments', { where }), reader());

  it('denies or(x == 1, x == 6) and x in [1, 3, 6, 42, 99]', () => {
    expect(list(or(eq('x', 1), eq('x', 6))).allowed).toBe(false);
    expect(list(op('x', 'IN', [1, 3, 6, 42, 99])).allowed).toBe(false);
  });

  it('allows or(x == 6, x == 42) and x in [6, 42, 99, 105, 200]', () => {
    expect(list(or(eq('x', 6), eq('x', 42))).allowed).toBe(true);
    expect(list(op('x', 'IN', [6, 42, 99, 105, 200])).allowed).toBe(true);
  });

  it('a range filter pins no value, so a range rule never allows a list (stricter than Google, documented)', () => {
    expect(list(op('x', 'GREATER_THAN', 5)).allowed).toBe(false);
  });

  it('names the branch that failed', () => {
    const decision = list(op('x', 'IN', [6, 1]));
    expect(denial(decision)).toMatch(/query branch where x == 1/);
  });
});

describe('request.query: limit, offset, orderBy', () => {
  it('allows a query only within the limit the rule sets; a query without a limit is denied', () => {
    const compiled = rules('    match /stories/{id} { allow list: if request.query.limit <= 10; }');
    expect(compiled.policy.authorizeQuery(user('u'), ROOT, query('stories', { limit: { value: 10 } }), reader()).allowed).toBe(true);
    expect(compiled.policy.authorizeQuery(user('u'), ROOT, query('stories', { limit: { value: 11 } }), reader()).allowed).toBe(false);
    expect(compiled.policy.authorizeQuery(user('u'), ROOT, query('stories'), reader()).allowed).toBe(false);
  });

  it('exposes offset and orderBy (field -> ASC | DESC)', () => {
    const compiled = rules(
      "    match /cities/{id} { allow list: if request.query.offset == 5 && request.query.orderBy.name == 'DESC' && request.query.orderBy.population == 'ASC'; }",
    );
    const q = query('cities', {
      offset: 5,
      orderBy: [
        { field: { fieldPath: 'name' }, direction: 'DESCENDING' },
        { field: { fieldPath: 'population' }, direction: 'ASCENDING' },
      ],
    });
    expect(compiled.policy.authorizeQuery(user('u'), ROOT, q, reader()).allowed).toBe(true);
  });
});

describe('wildcards come from the query parent; lookups are counted', () => {
  const compiled = rules(`
    function isMember(orgId) { return exists(/databases/$(database)/documents/orgs/$(orgId)/members/$(request.auth.uid)); }
    match /orgs/{orgId}/contacts/{contactId} { allow list: if isMember(orgId); }`);
  const members = reader(doc('orgs/A/members/alice', {}));

  it('binds {orgId} from the parent and leaves {contactId} unknown', () => {
    expect(compiled.policy.authorizeQuery(user('alice'), name('orgs/A'), query('contacts'), members)).toMatchObject({ allowed: true, lookups: 1 });
    expect(compiled.policy.authorizeQuery(user('alice'), name('orgs/B'), query('contacts'), members).allowed).toBe(false);
  });

  it('counts a lookup made in every branch of an IN query once', () => {
    const where = op('status', 'IN', ['a', 'b', 'c']);
    expect(compiled.policy.authorizeQuery(user('alice'), name('orgs/A'), query('contacts', { where }), members)).toMatchObject({ allowed: true, lookups: 1 });
  });

  it('a rule that needs the document id denies a query that does not pin it', () => {
    const byId = rules("    match /t/{id} { allow list: if id == 'x'; }");
    expect(byId.policy.authorizeQuery(user('u'), ROOT, query('t'), reader()).allowed).toBe(false);
  });

  it('a literal-segment rule covers one document, not a whole collection', () => {
    const one = rules('    match /cities/SF { allow list: if true; }');
    expect(one.policy.authorizeQuery(user('u'), ROOT, query('cities'), reader()).allowed).toBe(false);
  });
});

describe('__name__ filters constrain the document id', () => {
  const compiled = rules("    match /t/{id} { allow list: if resource.id in ['x', 'y'] && resource.__name__ == /databases/$(database)/documents/t/$(id); }");

  it('allows __name__ == and __name__ in within the rule, denies outside it', () => {
    const list = (where: Filter) => compiled.policy.authorizeQuery(user('u'), ROOT, query('t', { where }), reader());
    expect(list({ fieldFilter: { field: { fieldPath: '__name__' }, op: 'EQUAL', value: ref('t/x') } }).allowed).toBe(true);
    expect(list({ fieldFilter: { field: { fieldPath: '__name__' }, op: 'IN', value: { arrayValue: { values: [ref('t/x'), ref('t/y')] } } } }).allowed).toBe(
      true,
    );
    expect(list({ fieldFilter: { field: { fieldPath: '__name__' }, op: 'IN', value: { arrayValue: { values: [ref('t/x'), ref('t/z')] } } } }).allowed).toBe(
      false,
    );
    expect(compiled.policy.authorizeQuery(user('u'), ROOT, query('t'), reader()).allowed).toBe(false);
  });
});

describe('array-contains and array-contains-any', () => {
  const compiled = rules('    match /rooms/{id} { allow list: if request.auth.uid in resource.data.members; }');
  const list = (where: Filter) => compiled.policy.authorizeQuery(user('alice'), ROOT, query('rooms', { where }), reader());

  it('array-contains the caller proves `uid in members`', () => {
    expect(list(op('members', 'ARRAY_CONTAINS', 'alice')).allowed).toBe(true);
    expect(list(op('members', 'ARRAY_CONTAINS', 'bob')).allowed).toBe(false);
  });

  it('array-contains-any is judged per value', () => {
    expect(list(op('members', 'ARRAY_CONTAINS_ANY', ['alice'])).allowed).toBe(true);
    expect(list(op('members', 'ARRAY_CONTAINS_ANY', ['alice', 'bob'])).allowed).toBe(false);
  });

  it('nothing else about the array is known', () => {
    const size = rules('    match /rooms/{id} { allow list: if resource.data.members.size() < 10; }');
    expect(size.policy.authorizeQuery(user('alice'), ROOT, query('rooms', { where: op('members', 'ARRAY_CONTAINS', 'alice') }), reader()).allowed).toBe(false);
  });
});

describe('other filter shapes', () => {
  it('nested field paths and is-null filters pin values', () => {
    const compiled = rules(
      "    match /t/{id} { allow list: if resource.data.a.b == 1 && resource.data.deletedAt == null && resource.data['odd.key'] == 'v'; }",
    );
    const where = and(eq('a.b', 1), { unaryFilter: { op: 'IS_NULL', field: { fieldPath: 'deletedAt' } } }, eq('`odd.key`', 'v'));
    expect(compiled.policy.authorizeQuery(user('u'), ROOT, query('t', { where }), reader()).allowed).toBe(true);
  });

  it('rules that do not read resource allow any query', () => {
    const compiled = rules('    match /t/{id} { allow list: if request.auth != null; }');
    expect(compiled.policy.authorizeQuery(user('u'), ROOT, query('t'), reader()).allowed).toBe(true);
    expect(compiled.policy.authorizeQuery(anonymous(), ROOT, query('t'), reader()).allowed).toBe(false);
  });

  it('asking for the keys of the unknown document denies', () => {
    const compiled = rules("    match /t/{id} { allow list: if resource.data.keys().hasAll(['a']); }");
    expect(compiled.policy.authorizeQuery(user('u'), ROOT, query('t', { where: eq('a', 1) }), reader()).allowed).toBe(false);
  });
});

describe('collection group queries (https://firebase.google.com/docs/firestore/security/rules-query#collection_group_queries_and_security_rules)', () => {
  const group = (extra: Partial<StructuredQuery> = {}) => query('posts', extra, true);

  it('need a rule for the collection group: match /{path=**}/posts/{post}', () => {
    const compiled = rules(`
    match /{path=**}/posts/{post} { allow read: if request.auth != null; }
    match /forums/{forumid}/posts/{postid} { allow write: if request.auth != null && request.auth.uid == resource.data.author; }`);
    expect(compiled.policy.authorizeQuery(user('u'), ROOT, group({ where: eq('author', 'u') }), reader()).allowed).toBe(true);
    expect(compiled.policy.authorizeQuery(anonymous(), ROOT, group(), reader()).allowed).toBe(false);
  });

  it('a rule for one path of the group does not allow the group', () => {
    const compiled = rules('    match /forums/{forumid}/posts/{post} { allow read: if true; }');
    expect(compiled.policy.authorizeQuery(user('u'), ROOT, group(), reader()).allowed).toBe(false);
    expect(compiled.policy.authorizeQuery(user('u'), name('forums/technology'), query('posts'), reader()).allowed).toBe(true);
  });

  it('the membership pattern allows exactly the query constrained to the caller', () => {
    const compiled = rules('    match /{path=**}/members/{m} { allow list: if resource.data.uid == request.auth.uid; }');
    const members = (where?: Filter) => compiled.policy.authorizeQuery(user('alice'), ROOT, query('members', where ? { where } : {}, true), reader());
    expect(members(eq('uid', 'alice')).allowed).toBe(true);
    expect(members(eq('uid', 'bob')).allowed).toBe(false);
    expect(members().allowed).toBe(false);
  });

  it('wildcards before the collection are unknown, so a rule needing them denies', () => {
    const compiled = rules("    match /{path=**}/members/{m} { allow list: if path[1] == 'A' && resource.data.uid == request.auth.uid; }");
    expect(compiled.policy.authorizeQuery(user('alice'), ROOT, query('members', { where: eq('uid', 'alice') }, true), reader()).allowed).toBe(false);
  });

  it('a collection group under a parent binds the wildcards of that parent', () => {
    const compiled = rules("    match /orgs/{orgId}/{path=**}/members/{m} { allow list: if orgId == 'A'; }");
    expect(compiled.policy.authorizeQuery(user('u'), name('orgs/A'), query('members', {}, true), reader()).allowed).toBe(true);
    expect(compiled.policy.authorizeQuery(user('u'), name('orgs/B'), query('members', {}, true), reader()).allowed).toBe(false);
    expect(compiled.policy.authorizeQuery(user('u'), ROOT, query('members', {}, true), reader()).allowed).toBe(false);
  });

  it("need rules_version '2'", () => {
    const v1 = rules('    match /{path=**} { allow read; }', '1');
    const decision = v1.policy.authorizeQuery(user('u'), ROOT, group(), reader());
    expect(denial(decision)).toMatch(/collection group queries need rules_version = '2'/);
  });
});

describe('queries and security rules: Map.get with a key path on partly known data', () => {
  const compiled = rules("    match /boxes/{id} { allow list: if resource.data.get(['owner', 'uid'], 'nobody') == request.auth.uid; }");
  const empty = reader();

  it('reads a nested field the query pins', () => {
    expect(compiled.policy.authorizeQuery(user('alice'), ROOT, query('boxes', { where: eq('owner.uid', 'alice') }), empty).allowed).toBe(true);
    expect(compiled.policy.authorizeQuery(user('alice'), ROOT, query('boxes', { where: eq('owner.uid', 'bob') }), empty).allowed).toBe(false);
  });

  it('an unpinned key is unknown, not the default', () => {
    const decision = compiled.policy.authorizeQuery(user('nobody'), ROOT, query('boxes', { where: eq('owner.name', 'x') }), empty);
    expect(denial(decision)).toMatch(/resource.data.owner.uid/);
  });
});
