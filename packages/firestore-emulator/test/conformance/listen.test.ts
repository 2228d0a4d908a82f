/**
 * The Listen stream, through firebase-admin's onSnapshot and the web SDK's (which multiplexes every listener of
 * a Firestore instance as targets of one stream): initial state, adds/changes/removes, limits, document targets,
 * resuming after a disconnect, and a rules denial that removes one target only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DocumentSnapshot as AdminDocumentSnapshot, Firestore as AdminFirestore, QuerySnapshot as AdminQuerySnapshot } from 'firebase-admin/firestore';
import {
  collection,
  disableNetwork,
  doc,
  enableNetwork,
  onSnapshot,
  orderBy,
  query,
  where,
  type DocumentSnapshot,
  type QuerySnapshot,
} from 'firebase/firestore';
import { adminClient, ListenerRecorder, loadRules, uniqueProjectId, webClient } from './support';

const projectId = uniqueProjectId('conf-listen');
let admin: AdminFirestore;
let closeAdmin: () => Promise<void>;

beforeAll(() => {
  ({ db: admin, close: closeAdmin } = adminClient(projectId));
});
afterAll(() => closeAdmin());

const idsOf = (snapshot: AdminQuerySnapshot | QuerySnapshot) => snapshot.docs.map((d) => d.id);

describe('firebase-admin onSnapshot', () => {
  it('delivers the initial state, then adds, changes and removes', async () => {
    await admin.doc('watch/a').set({ n: 1 });
    const recorder = new ListenerRecorder<AdminQuerySnapshot>((next, fail) => admin.collection('watch').onSnapshot(next, fail));
    try {
      await recorder.waitFor((s) => idsOf(s).join() === 'a');
      await admin.doc('watch/b').set({ n: 2 });
      const added = await recorder.waitFor((s) => s.size === 2);
      expect(added.docChanges().map((c) => [c.type, c.doc.id])).toEqual([['added', 'b']]);
      await admin.doc('watch/a').update({ n: 10 });
      const modified = await recorder.waitFor((s) => s.docs.find((d) => d.id === 'a')?.get('n') === 10);
      expect(modified.docChanges().map((c) => [c.type, c.doc.id])).toEqual([['modified', 'a']]);
      await admin.doc('watch/b').delete();
      const removed = await recorder.waitFor((s) => s.size === 1);
      expect(removed.docChanges().map((c) => [c.type, c.doc.id])).toEqual([['removed', 'b']]);
    } finally {
      recorder.stop();
    }
  });

  it('keeps an ordered, limited query correct as documents move in and out of it', async () => {
    for (const [id, score] of [
      ['p1', 10],
      ['p2', 20],
      ['p3', 30],
    ] as const)
      await admin.doc(`scores/${id}`).set({ score });
    const recorder = new ListenerRecorder<AdminQuerySnapshot>((next, fail) =>
      admin.collection('scores').orderBy('score', 'desc').limit(2).onSnapshot(next, fail),
    );
    try {
      await recorder.waitFor((s) => idsOf(s).join() === 'p3,p2');
      await admin.doc('scores/p4').set({ score: 25 });
      await recorder.waitFor((s) => idsOf(s).join() === 'p3,p4');
      await admin.doc('scores/p3').update({ score: 5 });
      await recorder.waitFor((s) => idsOf(s).join() === 'p4,p2');
      await admin.doc('scores/p4').delete();
      await recorder.waitFor((s) => idsOf(s).join() === 'p2,p1');
    } finally {
      recorder.stop();
    }
  });

  it('follows a single document through creation, update and deletion', async () => {
    const ref = admin.doc('single/doc');
    const recorder = new ListenerRecorder<AdminDocumentSnapshot>((next, fail) => ref.onSnapshot(next, fail));
    try {
      await recorder.waitFor((s) => !s.exists);
      await ref.set({ v: 1 });
      await recorder.waitFor((s) => s.get('v') === 1);
      await ref.update({ v: 2 });
      await recorder.waitFor((s) => s.get('v') === 2);
      await ref.delete();
      await recorder.waitFor((s) => !s.exists);
    } finally {
      recorder.stop();
    }
  });
});

describe('web SDK listeners (many targets on one stream)', () => {
  it('serves a document listener and two query listeners side by side', async () => {
    const web = webClient(projectId, 'owner');
    const docRecorder = new ListenerRecorder<DocumentSnapshot>((next, fail) => onSnapshot(doc(web.db, 'multi/d1'), next, fail));
    const redRecorder = new ListenerRecorder<QuerySnapshot>((next, fail) =>
      onSnapshot(query(collection(web.db, 'multi'), where('color', '==', 'red')), next, fail),
    );
    const allRecorder = new ListenerRecorder<QuerySnapshot>((next, fail) => onSnapshot(query(collection(web.db, 'multi'), orderBy('rank')), next, fail));
    try {
      await docRecorder.waitFor((s) => !s.exists() && !s.metadata.fromCache);
      await redRecorder.waitFor((s) => s.empty && !s.metadata.fromCache);
      await allRecorder.waitFor((s) => s.empty && !s.metadata.fromCache);

      await admin.doc('multi/d1').set({ color: 'red', rank: 2 });
      await admin.doc('multi/d2').set({ color: 'blue', rank: 1 });
      await docRecorder.waitFor((s) => s.get('color') === 'red');
      await redRecorder.waitFor((s) => idsOf(s).join() === 'd1');
      await allRecorder.waitFor((s) => idsOf(s).join() === 'd2,d1');

      // d1 leaves the red query but still exists; d2 enters it.
      const batch = admin.batch();
      batch.update(admin.doc('multi/d1'), { color: 'green' });
      batch.update(admin.doc('multi/d2'), { color: 'red' });
      await batch.commit();
      await redRecorder.waitFor((s) => idsOf(s).join() === 'd2');
      await docRecorder.waitFor((s) => s.get('color') === 'green');
      await allRecorder.waitFor((s) => s.docs.map((d) => d.get('color')).join() === 'red,green');
    } finally {
      for (const recorder of [docRecorder, redRecorder, allRecorder]) recorder.stop();
      await web.close();
    }
  });

  it('resumes after a disconnect and catches up with what changed meanwhile, deletions included', async () => {
    await admin.doc('resume/keep').set({ v: 1 });
    await admin.doc('resume/gone').set({ v: 1 });
    const web = webClient(projectId, 'owner');
    const recorder = new ListenerRecorder<QuerySnapshot>((next, fail) =>
      onSnapshot(collection(web.db, 'resume'), { includeMetadataChanges: true }, next, fail),
    );
    try {
      await recorder.waitFor((s) => idsOf(s).join() === 'gone,keep' && !s.metadata.fromCache);
      await disableNetwork(web.db);
      await admin.doc('resume/gone').delete();
      await admin.doc('resume/keep').update({ v: 2 });
      await admin.doc('resume/new').set({ v: 1 });
      await enableNetwork(web.db);
      const caughtUp = await recorder.waitFor((s) => !s.metadata.fromCache && idsOf(s).join() === 'keep,new');
      expect(caughtUp.docs.find((d) => d.id === 'keep')?.get('v')).toBe(2);
    } finally {
      recorder.stop();
      await web.close();
    }
  });

  it('a rules denial removes only the denied target; the other listener keeps receiving changes', async () => {
    const rulesProject = uniqueProjectId('conf-listen-rules');
    const rulesAdmin = adminClient(rulesProject);
    const response = await loadRules(
      rulesProject,
      `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /open/{id} { allow read: if true; }
  }
}`,
    );
    expect(response.status).toBe(200);
    const web = webClient(rulesProject);
    const openRecorder = new ListenerRecorder<QuerySnapshot>((next, fail) => onSnapshot(collection(web.db, 'open'), next, fail));
    const closedRecorder = new ListenerRecorder<QuerySnapshot>((next, fail) => onSnapshot(collection(web.db, 'closed'), next, fail));
    try {
      const denied = (await closedRecorder.waitForError()) as { code: string };
      expect(denied.code).toBe('permission-denied');
      await openRecorder.waitFor((s) => s.empty && !s.metadata.fromCache);
      await rulesAdmin.db.doc('open/o1').set({ v: 1 });
      await openRecorder.waitFor((s) => idsOf(s).join() === 'o1');
    } finally {
      openRecorder.stop();
      closedRecorder.stop();
      await web.close();
      await rulesAdmin.close();
    }
  });
});
