/**
 * Protobuf codecs for google.firestore.v1.Firestore, built from the descriptors @google-cloud/firestore ships.
 * Requests decode into the plain shapes the engine contract (../engine/api.ts) describes; responses are plain
 * objects of the same shape, encoded with `fromObject` so enum names and decimal-string int64s are accepted.
 */
import { isUtf8 } from 'buffer';
import * as protobuf from 'protobufjs';
import { Code, RpcError } from '../engine/api';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const descriptor: protobuf.INamespace = require('@google-cloud/firestore/build/protos/v1.json');

const root = protobuf.Root.fromJSON(descriptor);

export const FIRESTORE_SERVICE_NAME = 'google.firestore.v1.Firestore';
export const firestoreService = root.lookupService(FIRESTORE_SERVICE_NAME);

/** The decoding options the engine contract fixes. */
const TO_OBJECT_OPTIONS: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: false,
  oneofs: false,
};

class InvalidUtf8Error extends Error {}

/**
 * Proto3 requires string fields to be valid UTF-8 and Google's servers reject requests that are not; protobufjs
 * would silently substitute U+FFFD, so strings are checked while decoding.
 */
class StrictUtf8Reader extends protobuf.Reader {
  override string(): string {
    const view = this.bytes();
    const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
    if (!isUtf8(bytes)) throw new InvalidUtf8Error('a string field is not valid UTF-8');
    return bytes.toString('utf8');
  }
}

export interface MessageCodec<T> {
  readonly typeName: string;
  /**
   * Throws when the bytes are not a valid message (including invalid UTF-8 in a string field) the way Google's
   * emulator, a grpc-java server, answers: INTERNAL "Invalid protobuf byte sequence" (grpc-java's ProtoLiteUtils);
   * ours adds the message type and the reason.
   */
  decode(bytes: Buffer): T;
  encode(message: T): Buffer;
}

export function codecFor<T extends object>(typeName: string): MessageCodec<T> {
  const type = root.lookupType(typeName);
  const fullName = type.fullName.replace(/^\./, '');
  return {
    typeName: fullName,
    decode(bytes) {
      try {
        return type.toObject(type.decode(new StrictUtf8Reader(bytes)), TO_OBJECT_OPTIONS) as T;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new RpcError(Code.INTERNAL, `Invalid protobuf byte sequence (${fullName}: ${reason})`);
      }
    },
    encode(message) {
      return Buffer.from(type.encode(type.fromObject(message)).finish());
    },
  };
}
