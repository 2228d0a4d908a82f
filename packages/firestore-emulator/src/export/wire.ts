/**
 * The protocol buffer wire format, by hand: the entity protos of an export are proto2 messages with groups
 * (which protobufjs only reads from a descriptor), and the reader must refuse every field it does not expect
 * rather than skip it.
 */

export const enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  StartGroup = 3,
  EndGroup = 4,
}

/** Each wire type at the index of its value. */
const WIRE_TYPES: readonly WireType[] = [WireType.Varint, WireType.Fixed64, WireType.LengthDelimited, WireType.StartGroup, WireType.EndGroup];

/** Thrown by the reader; the caller adds the file and record. */
export class WireError extends Error {}

export class WireReader {
  private position: number;

  constructor(
    private readonly buffer: Buffer,
    start = 0,
    private readonly end = buffer.length,
  ) {
    this.position = start;
  }

  get done(): boolean {
    return this.position >= this.end;
  }

  /** The next field's number and wire type. */
  tag(): { field: number; type: WireType } {
    const tag = this.varint();
    const bits = Number(tag & 7n);
    const type: WireType | undefined = WIRE_TYPES[bits];
    if (type === undefined) throw new WireError(`unsupported wire type ${bits}`);
    return { field: Number(tag >> 3n), type };
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.position >= this.end) throw new WireError('a varint runs past the end of its message');
      const byte = this.buffer[this.position++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) {
        if (result >= 1n << 64n) throw new WireError('a varint is longer than 64 bits');
        return result;
      }
    }
    throw new WireError('a varint is longer than 10 bytes');
  }

  /** A varint read as a signed 64-bit integer (int64 encodes negatives in two's complement). */
  int64(): bigint {
    return BigInt.asIntN(64, this.varint());
  }

  double(): number {
    if (this.position + 8 > this.end) throw new WireError('a 64-bit value runs past the end of its message');
    const value = this.buffer.readDoubleLE(this.position);
    this.position += 8;
    return value;
  }

  bytes(): Buffer {
    const length = this.varint();
    if (length > BigInt(this.end - this.position)) throw new WireError('a length-delimited field runs past the end of its message');
    const start = this.position;
    this.position += Number(length);
    return this.buffer.subarray(start, this.position);
  }

  /** A nested message as a reader over its bytes. */
  message(): WireReader {
    const bytes = this.bytes();
    return new WireReader(bytes);
  }

  /** The fields of a group up to its end tag: the reader continues after it. */
  group(field: number): WireReader {
    const start = this.position;
    for (;;) {
      const tag = this.tag();
      if (tag.type === WireType.EndGroup) {
        if (tag.field !== field) throw new WireError(`group ${field} ends with the end tag of group ${tag.field}`);
        return new WireReader(this.buffer, start, this.position - endTagSize(field));
      }
      this.skip(tag);
    }
  }

  private skip(tag: { field: number; type: WireType }): void {
    switch (tag.type) {
      case WireType.Varint:
        this.varint();
        return;
      case WireType.Fixed64:
        this.double();
        return;
      case WireType.LengthDelimited:
        this.bytes();
        return;
      case WireType.StartGroup:
        this.group(tag.field);
        return;
      case WireType.EndGroup:
        throw new WireError(`an unexpected end of group ${tag.field}`);
    }
  }
}

function endTagSize(field: number): number {
  let size = 1;
  for (let rest = ((field << 3) | WireType.EndGroup) >>> 7; rest > 0; rest >>>= 7) size++;
  return size;
}

/** Builds one message in a growing byte array; nested messages are built with their own writer. */
export class WireWriter {
  private buffer = new Uint8Array(64);
  private length = 0;

  private reserve(count: number): void {
    if (this.length + count <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + count));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  /** An unsigned varint below 2^32 (tags and lengths). */
  private varint32(value: number): void {
    this.reserve(5);
    let rest = value >>> 0;
    while (rest > 0x7f) {
      this.buffer[this.length++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    this.buffer[this.length++] = rest;
  }

  /** Any 64-bit value (negative int64 values take ten bytes, in two's complement). */
  private varint64(value: bigint): void {
    this.reserve(10);
    let rest = BigInt.asUintN(64, value);
    while (rest > 0x7fn) {
      this.buffer[this.length++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.buffer[this.length++] = Number(rest);
  }

  private tag(field: number, type: WireType): void {
    this.varint32(field * 8 + type);
  }

  private append(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  varint(field: number, value: bigint | number | boolean): this {
    this.tag(field, WireType.Varint);
    if (typeof value === 'boolean') this.varint32(value ? 1 : 0);
    else if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff) this.varint32(value);
    else this.varint64(BigInt(value));
    return this;
  }

  double(field: number, value: number): this {
    this.tag(field, WireType.Fixed64);
    this.reserve(8);
    new DataView(this.buffer.buffer, this.buffer.byteOffset).setFloat64(this.length, value, true);
    this.length += 8;
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WireType.LengthDelimited);
    this.varint32(value.length);
    this.append(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  message(field: number, message: WireWriter): this {
    return this.bytes(field, message.view());
  }

  group(field: number, group: WireWriter): this {
    this.tag(field, WireType.StartGroup);
    this.append(group.view());
    this.tag(field, WireType.EndGroup);
    return this;
  }

  /** The bytes so far, without copying (valid until the next write). */
  private view(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }

  toBuffer(): Buffer {
    return Buffer.from(this.view());
  }
}
