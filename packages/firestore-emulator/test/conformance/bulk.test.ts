/**
 * BatchWrite, ListDocuments and ListCollectionIds through the firebase-admin features built on them:
 * BulkWriter, listDocuments(), listCollections() and recursiveDelete() (which also runs an all-descendants
 * query).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Firestore } from 'firebase-admin/firestore';
import { adminClient, uniqueProjectId } from './support';

const projectId = uniqueProjectId('conf-bulk');
let db: Firestore;
let close: () => Promise<void>;

beforeAll(() => {
  ({ db, close } = adminClient(projectId));
});
afterAll(() => close());

describe('BatchWrite (BulkWriter)', () => {
  it('applies each write independently: one failure does not stop the others', async () => {
    const writer = db.bulkWriter();
    const failures: string[] = [];
    writer.onWriteError((error) => {
      failures.push(`${error.documentRef.path}:${error.code}`);
      return false;
    });
    for (let i = 0; i < 25; i++) void writer.set(db.doc(`bulk/doc${i}`), { i });
    void writer.update(db.doc('bulk/missing'), { i: -1 }).catch(() => undefined);
    await writer.close();
    expect(failures).toEqual(['bulk/missing:5']);
    expect((await db.collection('bulk').get()).size).toBe(25);
  });
});

describe('ListDocuments and ListCollectionIds', () => {
  it('listDocuments() includes documents that only have subcollections', async () => {
    await db.doc('shelves/real').set({ v: 1 });
    await db.doc('shelves/phantom/books/b1').set({ v: 2 });
    const listed = await db.collection('shelves').listDocuments();
    expect(listed.map((ref) => ref.id).sort()).toEqual(['phantom', 'real']);
    expect((await db.collection('shelves').get()).docs.map((doc) => doc.id)).toEqual(['real']);
  });

  it('listCollections() at the root and under a document', async () => {
    await db.doc('libraries/l1/books/b1').set({ v: 1 });
    await db.doc('libraries/l1/readers/r1').set({ v: 1 });
    await db.doc('libraries/l1/readers/r1/loans/x').set({ v: 1 });
    const root = (await db.listCollections()).map((ref) => ref.id);
    expect(root).toEqual(expect.arrayContaining(['libraries', 'shelves']));
    expect((await db.doc('libraries/l1').listCollections()).map((ref) => ref.id).sort()).toEqual(['books', 'readers']);
  });
});

describe('recursiveDelete', () => {
  it('deletes a document, its subcollections at every depth, and nothing else', async () => {
    await db.doc('trees/t1').set({ v: 1 });
    await db.doc('trees/t1/branches/b1').set({ v: 1 });
    await db.doc('trees/t1/branches/b1/leaves/l1').set({ v: 1 });
    await db.doc('trees/t1/roots/r1').set({ v: 1 });
    await db.doc('trees/t2').set({ v: 2 });
    await db.doc('trees/t2/branches/b1').set({ v: 2 });
    await db.recursiveDelete(db.doc('trees/t1'));
    expect((await db.doc('trees/t1').get()).exists).toBe(false);
    expect((await db.collectionGroup('leaves').get()).size).toBe(0);
    expect((await db.doc('trees/t1').listCollections()).length).toBe(0);
    expect((await db.doc('trees/t2/branches/b1').get()).exists).toBe(true);
  });

  it('deletes a whole collection of a few hundred documents', async () => {
    const writer = db.bulkWriter();
    for (let i = 0; i < 300; i++) void writer.set(db.doc(`forest/f${i}`), { i });
    void writer.set(db.doc('forest/f0/under/u'), { deep: true });
    await writer.close();
    await db.recursiveDelete(db.collection('forest'));
    expect((await db.collection('forest').listDocuments()).length).toBe(0);
    expect((await db.collectionGroup('under').get()).size).toBe(0);
  });
});
