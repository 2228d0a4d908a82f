/**
 * Protobuf codecs for google.firestore.v1.Firestore, built from the descriptors @google-cloud/firestore ships
 * (plus `Write.verify`, see below). Requests decode into the plain shapes the engine contract (../engine/api.ts)
 * describes; responses are plain objects of the same shape, encoded with `fromObject` so enum names and
 * decimal-string int64s are accepted. protobufjs skips fields it has no descriptor for, so every request is also
 * checked for them: one answers UNIMPLEMENTED naming the message and field number instead of losing its meaning.
 */
import { isUtf8 } from 'buffer';
import * as protobuf from 'protobufjs';
import { Code, RpcError } from '../engine/api';

const descriptor = require('@google-cloud/firestore/build/protos/v1.json') as protobuf.INamespace;

const root = protobuf.Root.fromJSON(descriptor);

// `verify` (field 5 of Write, in its `operation` oneof) is what the web SDK's transactions send for documents
// they read but did not write; the published descriptors above lack it. Same definition as the web SDK's protos.
const writeType = root.lookupType('google.firestore.v1.Write');
const verifyField = new protobuf.Field('verify', 5, 'string');
writeType.add(verifyField);
writeType.oneofs.operation.add(verifyField);
root.resolveAll();

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

/** A message type of the descriptors above (`google.firestore.v1.Document`, ...): the JSON mapping walks it. */
export function messageType(typeName: string): protobuf.Type {
  return root.lookupType(typeName);
}

export function codecFor<T extends object>(typeName: string): MessageCodec<T> {
  const type = root.lookupType(typeName);
  const fullName = type.fullName.replace(/^\./, '');
  return {
    typeName: fullName,
    decode(bytes) {
      let decoded: T;
      try {
        decoded = type.toObject(type.decode(new StrictUtf8Reader(bytes)), TO_OBJECT_OPTIONS) as T;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new RpcError(Code.INTERNAL, `Invalid protobuf byte sequence (${fullName}: ${reason})`);
      }
      rejectUnknownFields(type, protobuf.Reader.create(bytes), bytes.length);
      return decoded;
    },
    encode(message) {
      return Buffer.from(type.encode(type.fromObject(message)).finish());
    },
  };
}

/**
 * Walks the wire format of bytes that decoded as `type` and throws UNIMPLEMENTED at the first field number the
 * descriptors do not define, in the message itself or in any message nested in it (map values included).
 */
function rejectUnknownFields(type: protobuf.Type, reader: protobuf.Reader, end: number): void {
  while (reader.pos < end) {
    const tag = reader.uint32();
    const fieldNumber = tag >>> 3;
    const wireType = tag & 7;
    const field = type.fieldsById[fieldNumber];
    if (!field) {
      throw new RpcError(
        Code.UNIMPLEMENTED,
        `The offline Firestore emulator does not know field ${fieldNumber} of ${type.fullName.slice(1)}; ` +
          'it refuses the request rather than ignore the field.',
      );
    }
    const nested = messageTypeOf(field);
    if (wireType !== 2 || (!nested && !(field instanceof protobuf.MapField))) {
      reader.skipType(wireType);
      continue;
    }
    const length = reader.uint32();
    const fieldEnd = reader.pos + length;
    if (field instanceof protobuf.MapField) rejectUnknownMapEntryFields(type, field, reader, fieldEnd);
    else if (nested) rejectUnknownFields(nested, reader, fieldEnd);
    reader.pos = fieldEnd;
  }
}

/** A map entry is a message of key (field 1) and value (field 2). */
function rejectUnknownMapEntryFields(owner: protobuf.Type, field: protobuf.MapField, reader: protobuf.Reader, end: number): void {
  const valueType = messageTypeOf(field);
  while (reader.pos < end) {
    const tag = reader.uint32();
    const fieldNumber = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNumber !== 1 && fieldNumber !== 2) {
      throw new RpcError(
        Code.UNIMPLEMENTED,
        `The offline Firestore emulator does not know field ${fieldNumber} of the ${field.name} map entry of ` +
          `${owner.fullName.slice(1)}; it refuses the request rather than ignore the field.`,
      );
    }
    if (fieldNumber === 2 && valueType && wireType === 2) {
      const length = reader.uint32();
      const valueEnd = reader.pos + length;
      rejectUnknownFields(valueType, reader, valueEnd);
      reader.pos = valueEnd;
    } else {
      reader.skipType(wireType);
    }
  }
}

function messageTypeOf(field: protobuf.FieldBase): protobuf.Type | null {
  return field.resolvedType instanceof protobuf.Type ? field.resolvedType : null;
}
