/**
 * The google.firestore.v1.Firestore gRPC service, on @grpc/grpc-js: the caller from the Authorization header, then
 * the RPC table every transport shares (rpc-methods.ts) or a Listen/Write session; the engine raises RpcError with
 * Google's codes and messages, which become the call's status.
 */
import * as grpc from '@grpc/grpc-js';
import type { google } from '@google-cloud/firestore/build/protos/firestore_v1_proto_api';
import { Caller, RpcError } from '../engine/api';
import { callerFromAuthorization } from './auth';
import { EmulatorState } from './emulator-state';
import { ListenSession } from './listen';
import { codecFor, firestoreService, FIRESTORE_SERVICE_NAME, MessageCodec } from './protobuf';
import { RpcMethod, rpcMethods } from './rpc-methods';
import { WriteSession } from './write-session';

/** What a request deserializer hands to a handler: the message, or why the bytes were not one. */
type Decoded<T> = { message: T } | { error: RpcError };

export function createGrpcServer(state: EmulatorState): grpc.Server {
  const server = new grpc.Server({
    // Firestore documents reach 1 MiB and batches 500 of them; the SDKs send up to their own (large) limits.
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
  });
  server.addService(serviceDefinition(), implementation(state));
  return server;
}

function serviceDefinition(): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<object, object>> = {};
  for (const method of firestoreService.methodsArray) {
    const { resolvedRequestType, resolvedResponseType } = method;
    // protobuf.ts resolves every type of the descriptors when it loads them.
    if (!resolvedRequestType || !resolvedResponseType) throw new Error(`The message types of ${method.name} are not resolved.`);
    const request = codecFor<object>(resolvedRequestType.fullName.slice(1));
    const response = codecFor<object>(resolvedResponseType.fullName.slice(1));
    definition[method.name] = {
      path: `/${FIRESTORE_SERVICE_NAME}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: (message: object) => request.encode(message),
      requestDeserialize: (bytes: Buffer) => safeDecode(request, bytes),
      responseSerialize: (message: object) => response.encode(message),
      responseDeserialize: (bytes: Buffer) => response.decode(bytes),
    };
  }
  return definition;
}

/** A deserializer that throws gets grpc-js's own status and message; ours are Google's (see MessageCodec). */
function safeDecode<T>(codec: MessageCodec<T>, bytes: Buffer): Decoded<T> {
  try {
    return { message: codec.decode(bytes) };
  } catch (error) {
    return { error: error as RpcError };
  }
}

function implementation(state: EmulatorState): grpc.UntypedServiceImplementation {
  const handlers: grpc.UntypedServiceImplementation = {
    Listen: bidiStreaming((caller, output: StreamOutput<google.firestore.v1.IListenResponse>) => new ListenSession(state, caller, output)),
    Write: bidiStreaming((caller, output: StreamOutput<google.firestore.v1.IWriteResponse>) => new WriteSession(state, caller, output)),
  };
  for (const [name, method] of Object.entries(rpcMethods) as [string, RpcMethod<object>][]) {
    const run = (request: object, caller: Caller) => method.run(state, request, caller);
    handlers[name] = method.streaming ? serverStreaming(run as (request: object, caller: Caller) => Promise<unknown[]>) : unary(run);
  }
  return handlers;
}

function callerOf(metadata: grpc.Metadata): Caller {
  const [authorization] = metadata.get('authorization');
  return callerFromAuthorization(typeof authorization === 'string' ? authorization : authorization?.toString());
}

function messageOf<T>(decoded: Decoded<T>): T {
  if ('error' in decoded) throw decoded.error;
  return decoded.message;
}

function unary<Req, Res>(run: (request: Req, caller: Caller) => Promise<Res>) {
  return (call: grpc.ServerUnaryCall<Decoded<Req>, Res>, callback: grpc.sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => run(messageOf(call.request), callerOf(call.metadata)))
      .then(
        (response) => callback(null, response),
        (error: unknown) => {
          sendHeaders(call);
          callback(toStatus(error));
        },
      );
  };
}

function serverStreaming<Req, Res>(run: (request: Req, caller: Caller) => Promise<Res[]>) {
  return (call: grpc.ServerWritableStream<Decoded<Req>, Res>): void => {
    Promise.resolve()
      .then(() => run(messageOf(call.request), callerOf(call.metadata)))
      .then(
        (responses) => {
          for (const response of responses) call.write(response);
          call.end();
        },
        (error: unknown) => {
          sendHeaders(call);
          call.emit('error', toStatus(error));
        },
      );
  };
}

/**
 * Sends the (empty) response headers before an error status. grpc-js would otherwise answer "trailers-only",
 * which firebase-admin's server-streaming transport (google-gax through retry-request) takes for a connection
 * that never answered: it silently re-sends the request twice, seconds apart, whatever the status code.
 * Call it only before the first response message (a message sends the headers itself).
 */
function sendHeaders(call: { sendMetadata(metadata: grpc.Metadata): void }): void {
  call.sendMetadata(new grpc.Metadata());
}

/** The server side of one bidirectional stream, as a session sees it. */
export interface StreamOutput<Res> {
  send(response: Res): void;
  /** Ends the stream with OK. */
  end(): void;
  /** Ends the stream with the error's status. */
  fail(error: unknown): void;
}

/** One session per bidirectional stream (Listen, Write). */
export interface StreamSession<Req> {
  handle(request: Req): void;
  /** The client half-closed: end the stream once the work already requested is answered. */
  clientDone(): void;
  /** The stream is over (ended, failed or cancelled): release what the session holds. Idempotent. */
  close(): void;
}

function bidiStreaming<Req, Res>(open: (caller: Caller, output: StreamOutput<Res>) => StreamSession<Req>) {
  return (call: grpc.ServerDuplexStream<Decoded<Req>, Res>): void => {
    let finished = false;
    let responded = false;
    let session: StreamSession<Req> | undefined;
    const finish = (error?: unknown): void => {
      if (finished) return;
      finished = true;
      session?.close();
      if (error === undefined) {
        call.end();
        return;
      }
      if (!responded) sendHeaders(call);
      call.emit('error', toStatus(error));
    };
    const output: StreamOutput<Res> = {
      send: (response) => {
        if (finished) return;
        responded = true;
        call.write(response);
      },
      end: () => finish(),
      fail: (error) => finish(error),
    };
    try {
      session = open(callerOf(call.metadata), output);
    } catch (error) {
      finish(error);
      return;
    }
    const opened = session;
    call.on('data', (decoded: Decoded<Req>) => {
      if (finished) return;
      try {
        opened.handle(messageOf(decoded));
      } catch (error) {
        finish(error);
      }
    });
    call.on('end', () => {
      if (!finished) opened.clientDone();
    });
    const abandon = (): void => {
      finished = true;
      opened.close();
    };
    call.on('cancelled', abandon);
    call.on('error', abandon);
  };
}

function toStatus(error: unknown): grpc.ServerErrorResponse {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- Code's values are gRPC's status codes
  if (error instanceof RpcError) return statusError(error.code as number, error.message);
  // Not an error the engine meant to raise: a bug in the emulator, reported as Google reports its own failures.
  console.error('[firestore-emulator] internal error:', error);
  const message = error instanceof Error ? error.message : String(error);
  return statusError(grpc.status.INTERNAL, `Internal error in the offline emulator: ${message}`);
}

function statusError(code: grpc.status, details: string): grpc.ServerErrorResponse {
  return Object.assign(new Error(details), { code, details });
}
