/**
 * The Firestore REST API in its JSON mapping (what the web SDK's browser build and REST clients call), checked
 * through plain HTTP against the same data firebase-admin sees over gRPC. Google's emulator serves the same API,
 * so the file runs unchanged against it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Firestore } from 'firebase-admin/firestore';
import { adminClient, emulatorUrl, loadRules, uniqueProjectId } from './support';

const projectId = uniqueProjectId('conf-rest');
const database = `projects/${projectId}/databases/(default)`;
const documents = `${database}/documents`;
let db: Firestore;
let close: () => Promise<void>;

beforeAll(() => {
  ({ db, close } = adminClient(projectId));
});
afterAll(() => close());

/** What the tests read of the answers (the whole body is compared with toEqual where it matters). */
interface Body {
  error: { code: number; message: string; status: string };
  name: string;
  fields: Record<string, unknown>;
  documents: { name: string }[];
  nextPageToken: string;
  transaction: string;
  collectionIds: string[];
}

interface Answer {
  status: number;
  body: Body;
}

async function rest(method: string, path: string, body?: unknown, authorization: string | null = 'Bearer owner'): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization) headers.authorization = authorization;
  const response = await fetch(emulatorUrl(`/v1/${path}`), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Body };
}

/** An unsigned ID token, as the Auth emulator and rules-unit-testing make them. */
function unsignedToken(uid: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `Bearer ${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: uid, user_id: uid, aud: projectId, iss: 'https://securetoken.google.com/' + projectId })}.`;
}

const isTimestamp = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);

describe('documents: create, get, patch, list, delete', () => {
  it('creates with a chosen id, reads it back in the JSON mapping, and refuses to create it twice', async () => {
    const fields = {
      name: { stringValue: 'Ada' },
      visits: { integerValue: '9007199254740993' },
      score: { doubleValue: 1.5 },
      vip: { booleanValue: true },
      nothing: { nullValue: null },
      tags: { arrayValue: { values: [{ stringValue: 'a' }] } },
      address: { mapValue: { fields: { city: { stringValue: 'London' } } } },
      blob: { bytesValue: Buffer.from([1, 2, 255]).toString('base64') },
      seen: { timestampValue: '2024-05-01T12:30:00.123456Z' },
    };
    const created = await rest('POST', `${documents}/people?documentId=ada`, { fields });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({ name: `${documents}/people/ada`, fields, createTime: isTimestamp, updateTime: isTimestamp });

    const stored = (await db.doc('people/ada').get()).data();
    expect(stored?.visits).toBe(9007199254740992); // admin reads it as a JS number
    expect((stored?.seen as { toDate(): Date }).toDate().toISOString()).toBe('2024-05-01T12:30:00.123Z');

    const again = await rest('POST', `${documents}/people?documentId=ada`, { fields: {} });
    expect(again.status).toBe(409);
    expect(again.body.error).toEqual({ code: 409, message: expect.any(String), status: 'ALREADY_EXISTS' });

    const read = await rest('GET', `${documents}/people/ada?mask.fieldPaths=name&mask.fieldPaths=vip`);
    expect(read.body.fields).toEqual({ name: { stringValue: 'Ada' }, vip: { booleanValue: true } });
  });

  it('creates with an automatic id of 20 characters', async () => {
    const created = await rest('POST', `${documents}/people`, { fields: { name: { stringValue: 'Auto' } } });
    expect(created.status).toBe(200);
    expect(created.body.name).toMatch(new RegExp(`^${documents.replace(/[()]/g, '\\$&')}/people/[A-Za-z0-9]{20}$`));
  });

  it('answers a missing document with 404 in Google error shape', async () => {
    const missing = await rest('GET', `${documents}/people/nobody`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: 404, message: expect.stringContaining('people/nobody'), status: 'NOT_FOUND' } });
  });

  it('patches with an update mask and a precondition', async () => {
    await db.doc('people/grace').set({ name: 'Grace', rank: 'rear admiral', born: 1906 });
    const patched = await rest('PATCH', `${documents}/people/grace?updateMask.fieldPaths=rank&updateMask.fieldPaths=gone&currentDocument.exists=true`, {
      fields: { rank: { stringValue: 'admiral' } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.fields).toEqual({ name: { stringValue: 'Grace' }, rank: { stringValue: 'admiral' }, born: { integerValue: '1906' } });
    expect((await db.doc('people/grace').get()).data()).toEqual({ name: 'Grace', rank: 'admiral', born: 1906 });

    const onMissing = await rest('PATCH', `${documents}/people/nobody?currentDocument.exists=true`, { fields: {} });
    expect(onMissing.status).toBe(404);
    expect((await db.doc('people/nobody').get()).exists).toBe(false);
  });

  it('lists a collection page by page', async () => {
    const batch = db.batch();
    for (const id of ['p1', 'p2', 'p3']) batch.set(db.doc(`pages/${id}`), { id });
    await batch.commit();
    const first = await rest('GET', `${documents}/pages?pageSize=2`);
    expect(first.body.documents.map((d) => d.name.split('/').pop())).toEqual(['p1', 'p2']);
    const second = await rest('GET', `${documents}/pages?pageSize=2&pageToken=${encodeURIComponent(first.body.nextPageToken)}`);
    expect(second.body.documents.map((d) => d.name.split('/').pop())).toEqual(['p3']);
  });

  it('deletes, with a precondition that can refuse', async () => {
    await db.doc('people/temp').set({ v: 1 });
    const refused = await rest('DELETE', `${documents}/people/temp?currentDocument.updateTime=2000-01-01T00:00:00Z`);
    expect(refused.status).toBe(400);
    expect(refused.body.error.status).toBe('FAILED_PRECONDITION');
    expect((await db.doc('people/temp').get()).exists).toBe(true);
    const deleted = await rest('DELETE', `${documents}/people/temp`);
    expect(deleted).toEqual({ status: 200, body: {} });
    expect((await db.doc('people/temp').get()).exists).toBe(false);
  });
});

describe('the RPC-style methods', () => {
  it('commit, batchGet, runQuery, runAggregationQuery, listCollectionIds', async () => {
    const committed = await rest('POST', `${database}/documents:commit`, {
      writes: [
        { update: { name: `${documents}/cities/sf`, fields: { pop: { integerValue: '800000' } } } },
        { update: { name: `${documents}/cities/la`, fields: { pop: { integerValue: '4000000' } } } },
        { update: { name: `${documents}/cities/sf/parks/gg`, fields: {} } },
      ],
    });
    expect(committed.status).toBe(200);
    expect(committed.body).toEqual({
      writeResults: [{ updateTime: isTimestamp }, { updateTime: isTimestamp }, { updateTime: isTimestamp }],
      commitTime: isTimestamp,
    });

    const got = await rest('POST', `${database}/documents:batchGet`, { documents: [`${documents}/cities/sf`, `${documents}/cities/nowhere`] });
    expect(got.body).toEqual([
      { found: expect.objectContaining({ name: `${documents}/cities/sf` }), readTime: isTimestamp },
      { missing: `${documents}/cities/nowhere`, readTime: isTimestamp },
    ]);

    const query = {
      structuredQuery: {
        from: [{ collectionId: 'cities' }],
        where: { fieldFilter: { field: { fieldPath: 'pop' }, op: 'GREATER_THAN', value: { integerValue: '1000000' } } },
      },
    };
    const ran = await rest('POST', `${documents}:runQuery`, query);
    expect(ran.body).toEqual([{ document: expect.objectContaining({ name: `${documents}/cities/la` }), readTime: isTimestamp }]);

    const counted = await rest('POST', `${documents}:runAggregationQuery`, {
      structuredAggregationQuery: { structuredQuery: { from: [{ collectionId: 'cities' }] }, aggregations: [{ alias: 'n', count: {} }] },
    });
    expect(counted.body).toEqual([{ result: { aggregateFields: { n: { integerValue: '2' } } }, readTime: isTimestamp }]);

    const top = await rest('POST', `${documents}:listCollectionIds`, {});
    expect(top.body.collectionIds).toContain('cities');
    const under = await rest('POST', `${documents}/cities/sf:listCollectionIds`, {});
    expect(under.body).toEqual({ collectionIds: ['parks'] });
  });

  it('beginTransaction gives a base64 id that reads and commits use; rollback ends one', async () => {
    await db.doc('accounts/a').set({ balance: 10 });
    const begun = await rest('POST', `${database}/documents:beginTransaction`, {});
    expect(begun.body.transaction).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const read = await rest('GET', `${documents}/accounts/a?transaction=${encodeURIComponent(begun.body.transaction)}`);
    expect(read.body.fields.balance).toEqual({ integerValue: '10' });
    const committed = await rest('POST', `${database}/documents:commit`, {
      transaction: begun.body.transaction,
      writes: [{ update: { name: `${documents}/accounts/a`, fields: { balance: { integerValue: '5' } } } }],
    });
    expect(committed.status).toBe(200);
    expect((await db.doc('accounts/a').get()).data()).toEqual({ balance: 5 });

    const other = await rest('POST', `${database}/documents:beginTransaction`, {});
    expect(await rest('POST', `${database}/documents:rollback`, { transaction: other.body.transaction })).toEqual({ status: 200, body: {} });
  });
});

describe('bad input and rules', () => {
  it('refuses an unknown field, a wrong type and two members of a oneof, naming the field, writing nothing', async () => {
    const unknown = await rest('POST', `${documents}/bad?documentId=one`, { fields: { a: { stringValue: 'x' } }, colour: 'red' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toEqual({ code: 400, status: 'INVALID_ARGUMENT', message: expect.stringContaining('"colour"') });

    const wrongType = await rest('POST', `${documents}/bad?documentId=two`, { fields: { a: { integerValue: 'twelve' } } });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error.message).toContain('fields');

    const twoValues = await rest('POST', `${documents}/bad?documentId=three`, { fields: { a: { stringValue: 'x', booleanValue: true } } });
    expect(twoValues.status).toBe(400);
    expect(twoValues.body.error.message).toMatch(/stringValue.*booleanValue|booleanValue.*stringValue/);

    const unknownParameter = await rest('GET', `${documents}/bad/one?colour=red`);
    expect(unknownParameter.status).toBe(400);
    expect(unknownParameter.body.error.message).toContain('colour');
    expect((await db.collection('bad').get()).size).toBe(0);
  });

  it('applies the project rules to the caller of the Authorization header', async () => {
    const rulesProject = uniqueProjectId('conf-rest-rules');
    const rulesDocuments = `projects/${rulesProject}/databases/(default)/documents`;
    const loaded = await loadRules(
      rulesProject,
      "rules_version = '2'; service cloud.firestore { match /databases/{db}/documents { match /notes/{uid} { allow read, write: if request.auth.uid == uid; } } }",
    );
    expect(loaded.status).toBe(200);
    const body = { fields: { text: { stringValue: 'mine' } } };

    const anonymous = await rest('POST', `${rulesDocuments}/notes?documentId=alice`, body, null);
    expect(anonymous.status).toBe(403);
    expect(anonymous.body.error.status).toBe('PERMISSION_DENIED');
    const someoneElse = await rest('POST', `${rulesDocuments}/notes?documentId=alice`, body, unsignedToken('bob'));
    expect(someoneElse.status).toBe(403);
    const alice = await rest('POST', `${rulesDocuments}/notes?documentId=alice`, body, unsignedToken('alice'));
    expect(alice.status).toBe(200);
    expect((await rest('GET', `${rulesDocuments}/notes/alice`, undefined, unsignedToken('alice'))).body.fields).toEqual(body.fields);
    expect((await rest('GET', `${rulesDocuments}/notes/alice`, undefined, unsignedToken('bob'))).status).toBe(403);
    // The owner bypasses rules.
    expect((await rest('GET', `${rulesDocuments}/notes/alice`)).status).toBe(200);

    const badToken = await rest('GET', `${rulesDocuments}/notes/alice`, undefined, 'Bearer not-a-jwt');
    expect(badToken.status).toBe(400);
    expect(badToken.body.error.message).toContain('invalid jwt');
  });
});
