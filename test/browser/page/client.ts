/**
 * The page the browser suite loads: the `firebase` web SDK's browser build (bundled by esbuild, as a web client is)
 * behind a small API on `globalThis.lp` that the tests call through Playwright. Every call returns plain JSON:
 * Firestore errors come back as `{ error: { code, message } }` so tests can assert them; Timestamps as
 * `{ $timestamp: ISO string }`; `{ $serverTimestamp: true }` in written data is serverTimestamp().
 */
import { initializeApp, type FirebaseApp } from 'firebase/app';
import { connectAuthEmulator, getAuth, signInWithEmailAndPassword, signOut, type Auth } from 'firebase/auth';
import {
  addDoc,
  collection,
  connectFirestoreEmulator,
  deleteDoc,
  doc,
  getCountFromServer,
  getDoc,
  getDocs,
  initializeFirestore,
  limit,
  onSnapshot,
  orderBy,
  query,
  runTransaction,
  serverTimestamp,
  setDoc,
  setLogLevel,
  startAfter,
  terminate,
  Timestamp,
  updateDoc,
  where,
  writeBatch,
  type DocumentData,
  type Firestore,
  type QueryConstraint,
  type WhereFilterOp,
} from 'firebase/firestore';

export type TransportMode = 'streaming' | 'long-polling' | 'auto-detect';

export interface StartOptions {
  projectId: string;
  firestore: { host: string; port: number };
  authUrl: string;
  mode: TransportMode;
  logLevel?: 'debug' | 'silent';
}

export interface QuerySpec {
  where?: [string, WhereFilterOp, unknown][];
  orderBy?: [string, 'asc' | 'desc'][];
  limit?: number;
  startAfter?: unknown[];
}

export interface ListenerRecord {
  /** `at`: when the snapshot was raised, in epoch milliseconds with sub-millisecond precision. */
  snapshots: { changes: { type: string; id: string }[]; ids: string[]; fromCache: boolean; hasPendingWrites: boolean; at: number }[];
  error: { code: string; message: string } | null;
}

export type Outcome<T> = { ok: T } | { error: { code: string; message: string } };

let app: FirebaseApp;
let auth: Auth;
let db: Firestore;
const listeners = new Map<string, { record: ListenerRecord; stop: () => void; waiters: (() => void)[] }>();

/** Epoch milliseconds with sub-millisecond precision, comparable between pages of one machine. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

function encode(value: unknown): unknown {
  if (value instanceof Timestamp) return { $timestamp: value.toDate().toISOString() };
  if (Array.isArray(value)) return value.map(encode);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
  return value;
}

function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (value && typeof value === 'object') {
    if ('$serverTimestamp' in value) return serverTimestamp();
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
  }
  return value;
}

async function outcome<T>(work: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: await work() };
  } catch (error) {
    const failure = error as { code?: string; message?: string };
    return { error: { code: failure.code ?? 'unknown', message: failure.message ?? String(error) } };
  }
}

function constraints(spec: QuerySpec): QueryConstraint[] {
  const list: QueryConstraint[] = [];
  for (const [field, op, value] of spec.where ?? []) list.push(where(field, op, value));
  for (const [field, direction] of spec.orderBy ?? []) list.push(orderBy(field, direction));
  if (spec.startAfter) list.push(startAfter(...spec.startAfter));
  if (spec.limit !== undefined) list.push(limit(spec.limit));
  return list;
}

const api = {
  start(options: StartOptions): void {
    setLogLevel(options.logLevel ?? 'silent');
    app = initializeApp({ projectId: options.projectId, apiKey: 'fake-api-key', authDomain: 'localhost' });
    auth = getAuth(app);
    connectAuthEmulator(auth, options.authUrl, { disableWarnings: true });
    db = initializeFirestore(app, {
      experimentalForceLongPolling: options.mode === 'long-polling',
      experimentalAutoDetectLongPolling: options.mode === 'auto-detect',
    });
    connectFirestoreEmulator(db, options.firestore.host, options.firestore.port);
  },
  signIn: (email: string, password: string) => outcome(async () => (await signInWithEmailAndPassword(auth, email, password)).user.uid),
  signOut: () => outcome(() => signOut(auth)),
  get: (path: string) =>
    outcome(async () => {
      const snapshot = await getDoc(doc(db, path));
      return { exists: snapshot.exists(), data: encode(snapshot.data() ?? null) as DocumentData | null };
    }),
  set: (path: string, data: DocumentData) => outcome(() => setDoc(doc(db, path), decode(data) as DocumentData)),
  update: (path: string, data: DocumentData) => outcome(() => updateDoc(doc(db, path), decode(data) as DocumentData)),
  remove: (path: string) => outcome(() => deleteDoc(doc(db, path))),
  add: (collectionPath: string, data: DocumentData) => outcome(async () => (await addDoc(collection(db, collectionPath), decode(data) as DocumentData)).id),
  list: (collectionPath: string, spec: QuerySpec = {}) =>
    outcome(async () => {
      const snapshot = await getDocs(query(collection(db, collectionPath), ...constraints(spec)));
      return snapshot.docs.map((d) => ({ id: d.id, data: encode(d.data()) as DocumentData }));
    }),
  count: (collectionPath: string, spec: QuerySpec = {}) =>
    outcome(async () => (await getCountFromServer(query(collection(db, collectionPath), ...constraints(spec)))).data().count),
  /** Reads `path` and writes `field` = its value + `suffix` (and `extra`) in one transaction; returns the value. */
  appendInTransaction: (path: string, field: string, suffix: string, extra: DocumentData = {}) =>
    outcome(() =>
      runTransaction(db, async (transaction) => {
        const snapshot = await transaction.get(doc(db, path));
        const next = `${String(snapshot.get(field) ?? '')}${suffix}`;
        transaction.update(doc(db, path), { ...(decode(extra) as DocumentData), [field]: next });
        return next;
      }),
    ),
  batch: (operations: { op: 'set' | 'update' | 'delete'; path: string; data?: DocumentData }[]) =>
    outcome(async () => {
      const batch = writeBatch(db);
      for (const operation of operations) {
        const ref = doc(db, operation.path);
        if (operation.op === 'set') batch.set(ref, decode(operation.data) as DocumentData);
        else if (operation.op === 'update') batch.update(ref, decode(operation.data) as DocumentData);
        else batch.delete(ref);
      }
      await batch.commit();
    }),
  listen(key: string, collectionPath: string, spec: QuerySpec = {}): void {
    const record: ListenerRecord = { snapshots: [], error: null };
    const waiters: (() => void)[] = [];
    const wake = (): void => {
      for (const waiter of waiters.splice(0)) waiter();
    };
    const stop = onSnapshot(
      query(collection(db, collectionPath), ...constraints(spec)),
      // Metadata changes too: a listener whose cached result the server confirms unchanged hears of it only so.
      { includeMetadataChanges: true },
      (snapshot) => {
        record.snapshots.push({
          changes: snapshot.docChanges().map((change) => ({ type: change.type, id: change.doc.id })),
          ids: snapshot.docs.map((d) => d.id),
          fromCache: snapshot.metadata.fromCache,
          hasPendingWrites: snapshot.metadata.hasPendingWrites,
          at: now(),
        });
        wake();
      },
      (error) => {
        record.error = { code: error.code, message: error.message };
        wake();
      },
    );
    listeners.set(key, { record, stop, waiters });
  },
  /** Resolves with the snapshot that reported a `type` change of document `id` (or the listener's error). */
  waitForChange: (key: string, type: 'added' | 'modified' | 'removed', id: string) =>
    new Promise<Outcome<ListenerRecord['snapshots'][number]>>((resolve) => {
      const entry = listeners.get(key);
      if (!entry) throw new Error(`no listener ${key}`);
      const check = (): void => {
        const found = entry.record.snapshots.find((s) => s.changes.some((c) => c.type === type && c.id === id));
        if (found) resolve({ ok: found });
        else if (entry.record.error) resolve({ error: entry.record.error });
        else entry.waiters.push(check);
      };
      check();
    }),
  /**
   * Resolves once the listener has a snapshot from the server (not from cache), holding the document `containing`
   * if given, or an error.
   */
  waitForServerSnapshot: (key: string, containing?: string) =>
    new Promise<Outcome<ListenerRecord['snapshots'][number]>>((resolve) => {
      const entry = listeners.get(key);
      if (!entry) throw new Error(`no listener ${key}`);
      const check = (): void => {
        const found = entry.record.snapshots.find((s) => !s.fromCache && (containing === undefined || s.ids.includes(containing)));
        if (found) resolve({ ok: found });
        else if (entry.record.error) resolve({ error: entry.record.error });
        else entry.waiters.push(check);
      };
      check();
    }),
  listener: (key: string): ListenerRecord | null => listeners.get(key)?.record ?? null,
  /** Forgets the snapshots recorded so far (the benchmark times each delivery on its own). */
  resetListener(key: string): void {
    const entry = listeners.get(key);
    if (entry) entry.record.snapshots = [];
  },
  unlisten(key: string): void {
    listeners.get(key)?.stop();
    listeners.delete(key);
  },
  terminate: () => outcome(() => terminate(db)),
  now,
  /** For the benchmark: how long `getDocs` of a collection takes, in ms. */
  timeQuery: async (collectionPath: string): Promise<number> => {
    const started = now();
    await getDocs(collection(db, collectionPath));
    return now() - started;
  },
  /** For the benchmark: how long an update takes to be acknowledged by the server, and when it started. */
  timeUpdate: async (path: string, data: DocumentData): Promise<{ started: number; ms: number }> => {
    const started = now();
    await updateDoc(doc(db, path), decode(data) as DocumentData);
    return { started, ms: now() - started };
  },
};

export type PageApi = typeof api;
(globalThis as unknown as { lp: PageApi }).lp = api;
