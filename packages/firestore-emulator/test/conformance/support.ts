/**
 * Clients for the conformance suite. Everything goes through the real SDKs (firebase-admin, the `firebase` web
 * SDK, @firebase/rules-unit-testing) or, for what no SDK can send (malformed bytes, transforms the SDKs do not
 * expose), through a plain gRPC client speaking the published google.firestore.v1 protos. So every file runs
 * unchanged against Google's emulator when FIRESTORE_EMULATOR_HOST points at one (`npm run test:emulator`).
 */
import { randomUUID } from 'crypto';
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { deleteApp as deleteAdminApp, initializeApp as initializeAdminApp } from 'firebase-admin/app';
import { getFirestore as getAdminFirestore, type Firestore as AdminFirestore } from 'firebase-admin/firestore';
import { deleteApp as deleteWebApp, initializeApp as initializeWebApp } from 'firebase/app';
import {
  connectFirestoreEmulator,
  initializeFirestore,
  setLogLevel,
  terminate,
  type EmulatorMockTokenOptions,
  type Firestore as WebFirestore,
} from 'firebase/firestore';
import { present } from '../present';

/** True when our offline emulator is the one under test: checks of our own extras run only then. */
export const offlineEmulator = Boolean(process.env.LEADPULSE_OFFLINE_EMULATOR);

/** A project id no other test file uses, so files run in parallel against one emulator. */
export function uniqueProjectId(topic: string): string {
  return `demo-${topic}-${randomUUID().slice(0, 8)}`;
}

export function emulatorHostPort(): { host: string; port: number } {
  const value = process.env.FIRESTORE_EMULATOR_HOST;
  if (!value) throw new Error('FIRESTORE_EMULATOR_HOST is not set: run through vitest (its global setup starts the emulator)');
  const url = new URL(`http://${value}`);
  return { host: url.hostname, port: Number(url.port) };
}

export function emulatorUrl(path: string): string {
  const { host, port } = emulatorHostPort();
  return `http://${host}:${port}${path}`;
}

/** firebase-admin's Firestore (owner: rules bypassed), found through FIRESTORE_EMULATOR_HOST. */
export function adminClient(projectId: string): { db: AdminFirestore; close: () => Promise<void> } {
  emulatorHostPort();
  const app = initializeAdminApp({ projectId }, `${projectId}-admin-${randomUUID()}`);
  const db = getAdminFirestore(app);
  return { db, close: () => deleteAdminApp(app) };
}

/**
 * The `firebase` web SDK (its Node build, which speaks gRPC: Listen for reads, Write for writes). Without
 * `mockUserToken` the requests carry no Authorization header (unauthenticated); with it, an unsigned JWT.
 */
export function webClient(projectId: string, mockUserToken?: EmulatorMockTokenOptions | string): { db: WebFirestore; close: () => Promise<void> } {
  const { host, port } = emulatorHostPort();
  setLogLevel('silent');
  const app = initializeWebApp({ projectId, apiKey: 'fake-api-key' }, `${projectId}-web-${randomUUID()}`);
  const db = initializeFirestore(app, {});
  connectFirestoreEmulator(db, host, port, mockUserToken ? { mockUserToken } : {});
  return {
    db,
    close: async () => {
      await terminate(db);
      await deleteWebApp(app);
    },
  };
}

/** Loads rules for a project the way rules-unit-testing does. */
export async function loadRules(projectId: string, rules: string): Promise<Response> {
  return fetch(emulatorUrl(`/emulator/v1/projects/${projectId}:securityRules`), {
    method: 'PUT',
    body: JSON.stringify({ rules: { files: [{ content: rules }] } }),
  });
}

/**
 * Our extension: the indexes the project's queries must be served by (`PUT`, a `firestore.indexes.json`), or
 * none (`DELETE`, Google's emulator's behaviour). Only for the offline emulator.
 */
export async function loadIndexes(projectId: string, indexes: object | null): Promise<Response> {
  return fetch(emulatorUrl(`/emulator/v1/projects/${projectId}:indexes`), {
    method: indexes === null ? 'DELETE' : 'PUT',
    body: indexes === null ? undefined : JSON.stringify(indexes),
  });
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<{ code?: unknown; message: string; details?: string }> {
  const outcome = await promise.then(
    (value: unknown) => ({ resolved: true as const, value }),
    (error: unknown) => ({ resolved: false as const, error }),
  );
  if (outcome.resolved) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`);
  return outcome.error as { code?: unknown; message: string; details?: string };
}

/**
 * Records what a snapshot listener (firebase-admin's or the web SDK's onSnapshot) delivers, so a test can wait
 * for a state to be reached on the same listener, change data, and wait again.
 */
export class ListenerRecorder<T> {
  readonly values: T[] = [];
  error: unknown;
  private readonly unsubscribe: () => void;
  private wake: (() => void) | undefined;

  constructor(subscribe: (onNext: (value: T) => void, onError: (error: unknown) => void) => () => void) {
    this.unsubscribe = subscribe(
      (value) => {
        this.values.push(value);
        this.wake?.();
      },
      (error) => {
        this.error = error;
        this.wake?.();
      },
    );
  }

  /**
   * Resolves with the latest value once it satisfies `predicate`; fails on a listener error or after a timeout
   * (generous: on a loaded machine a wait only makes the test slower, never wrongly green).
   */
  async waitFor(predicate: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.error !== undefined)
        throw this.error instanceof Error ? this.error : new Error('the listener failed with a non-Error value', { cause: this.error });
      const latest = this.values[this.values.length - 1];
      if (this.values.length > 0 && predicate(latest)) return latest;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`listener did not reach the expected state in ${timeoutMs} ms (${this.values.length} snapshots seen)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Resolves with the error the listener fails with. */
  async waitForError(timeoutMs = 20_000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    while (this.error === undefined) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`listener did not fail within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.error;
  }

  stop(): void {
    this.unsubscribe();
  }
}

// ---- Plain gRPC, for what no SDK sends -------------------------------------------------------------------------

const protos = protobuf.Root.fromJSON(require('@google-cloud/firestore/build/protos/v1.json') as protobuf.INamespace);

export function encodeMessage(typeName: string, message: Record<string, unknown>): Buffer {
  const type = protos.lookupType(typeName);
  return Buffer.from(type.encode(type.fromObject(message)).finish());
}

export function decodeMessage(typeName: string, bytes: Buffer): Record<string, unknown> {
  const type = protos.lookupType(typeName);
  return type.toObject(type.decode(bytes), { longs: String, enums: String, defaults: false });
}

export interface GrpcFailure {
  code: number;
  details: string;
}

/**
 * A unary call with raw request bytes. `authorization` defaults to `Bearer owner` (as firebase-admin sends);
 * pass null for none.
 */
export function rawUnaryCall(method: string, request: Buffer, authorization: string | null = 'Bearer owner'): Promise<Buffer> {
  const { host, port } = emulatorHostPort();
  const client = new grpc.Client(`${host}:${port}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (authorization !== null) metadata.set('authorization', authorization);
  return new Promise<Buffer>((resolve, reject) => {
    client.makeUnaryRequest(
      `/google.firestore.v1.Firestore/${method}`,
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
      request,
      metadata,
      { deadline: Date.now() + 10_000 },
      (error, response) => {
        client.close();
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- callers compare the gRPC code and details as data
        if (error) reject({ code: error.code, details: error.details } satisfies GrpcFailure);
        else resolve(present(response, 'response'));
      },
    );
  });
}

/** A bidirectional call with messages given and received as plain objects of the published protos. */
export class RawBidiStream {
  readonly received: Record<string, unknown>[] = [];
  status: GrpcFailure | undefined;
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  private readonly client: grpc.Client;
  private wake: (() => void) | undefined;

  constructor(
    method: 'Listen' | 'Write',
    private readonly requestType: string,
    responseType: string,
    authorization: string | null = 'Bearer owner',
  ) {
    const { host, port } = emulatorHostPort();
    this.client = new grpc.Client(`${host}:${port}`, grpc.credentials.createInsecure());
    const metadata = new grpc.Metadata();
    if (authorization !== null) metadata.set('authorization', authorization);
    this.call = this.client.makeBidiStreamRequest(
      `/google.firestore.v1.Firestore/${method}`,
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
      metadata,
    );
    this.call.on('data', (bytes: Buffer) => {
      this.received.push(decodeMessage(responseType, bytes));
      this.wake?.();
    });
    this.call.on('error', (error: grpc.ServiceError) => {
      this.status = { code: error.code, details: error.details };
      this.wake?.();
    });
    this.call.on('status', (status: grpc.StatusObject) => {
      this.status ??= { code: status.code, details: status.details };
      this.wake?.();
    });
  }

  send(message: Record<string, unknown>): void {
    this.call.write(encodeMessage(this.requestType, message));
  }

  /** Waits until `count` messages have arrived in total (or the stream ends) and returns them all. */
  async waitForCount(count: number, timeoutMs = 20_000): Promise<Record<string, unknown>[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count && this.status === undefined) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`got ${this.received.length} of ${count} messages: ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.received;
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}
