/**
 * The LevelDB log format, which Firestore (and Datastore) exports use for their `output-N` files and the
 * `.overall_export_metadata` file: 32 KiB blocks of records, each fragment with a 7-byte header
 * (masked CRC32C of type + data, little-endian length, type); a block's last < 7 bytes are zero padding.
 */
import { ExportFormatError } from './errors';

export const BLOCK_SIZE = 32 * 1024;
const HEADER_SIZE = 7;

const enum FragmentType {
  Full = 1,
  First = 2,
  Middle = 3,
  Last = 4,
}

const FRAGMENT_TYPES: ReadonlyMap<number, FragmentType> = new Map(
  [FragmentType.Full, FragmentType.First, FragmentType.Middle, FragmentType.Last].map((type): [number, FragmentType] => [type, type]),
);

/** The fragment type a header's type byte names, or undefined for a byte that names none. */
function fragmentType(byte: number): FragmentType | undefined {
  return FRAGMENT_TYPES.get(byte);
}

// CRC32C (Castagnoli), reflected polynomial 0x82f63b78.
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(data: Uint8Array, initial = 0): number {
  let crc = ~initial >>> 0;
  for (let i = 0; i < data.length; i++) crc = CRC_TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** LevelDB stores checksums masked, so that a CRC of data holding CRCs is not itself trivial. */
function maskedChecksum(type: number, data: Uint8Array): number {
  const crc = crc32c(data, crc32c(Uint8Array.of(type)));
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

export interface LogRecord {
  data: Buffer;
  /** 0-based position of the record in its file. */
  index: number;
  /** Byte offset of the record's first fragment header. */
  offset: number;
}

/**
 * Every record of a log file, with every fragment's checksum verified. Anything else than well-formed records
 * and zero block padding is refused with the file, the record number and the byte offset.
 */
export function* readLog(data: Buffer, file: string): Generator<LogRecord> {
  let position = 0;
  let index = 0;
  let pending: { parts: Buffer[]; offset: number } | null = null;
  const failure = (offset: number, reason: string) => new ExportFormatError(file, `record ${index} at byte ${offset}: ${reason}`);
  while (position < data.length) {
    const blockLeft = BLOCK_SIZE - (position % BLOCK_SIZE);
    if (blockLeft < HEADER_SIZE) {
      const trailer = data.subarray(position, Math.min(data.length, position + blockLeft));
      if (trailer.some((byte) => byte !== 0)) throw failure(position, 'non-zero bytes in the padding at the end of a block');
      position += blockLeft;
      continue;
    }
    if (data.length - position < HEADER_SIZE) throw failure(position, 'the file ends inside a record header (truncated)');
    const checksum = data.readUInt32LE(position);
    const length = data.readUInt16LE(position + 4);
    const typeByte = data[position + 6];
    if (HEADER_SIZE + length > blockLeft) throw failure(position, `a fragment of ${length} bytes runs past the end of its 32 KiB block`);
    if (position + HEADER_SIZE + length > data.length) throw failure(position, `the file ends inside a ${length}-byte fragment (truncated)`);
    const fragment = data.subarray(position + HEADER_SIZE, position + HEADER_SIZE + length);
    const type = fragmentType(typeByte);
    if (type === undefined) throw failure(position, `unknown fragment type ${typeByte}`);
    if (maskedChecksum(type, fragment) !== checksum) throw failure(position, 'checksum mismatch (the record is corrupt)');
    const start = position;
    position += HEADER_SIZE + length;
    if (type === FragmentType.Full || type === FragmentType.First) {
      if (pending) throw failure(pending.offset, 'a record that was begun is never finished');
      if (type === FragmentType.Full) {
        yield { data: Buffer.from(fragment), index, offset: start };
        index++;
      } else {
        pending = { parts: [fragment], offset: start };
      }
    } else {
      if (!pending) throw failure(start, 'a middle or last fragment without a first one');
      pending.parts.push(fragment);
      if (type === FragmentType.Last) {
        yield { data: Buffer.concat(pending.parts), index, offset: pending.offset };
        index++;
        pending = null;
      }
    }
  }
  if (pending) throw failure(pending.offset, 'the file ends before the record is finished (truncated)');
}

/** Writes records as LevelDB's log writer does (fragments across blocks, zero padding). */
export class LogWriter {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  add(record: Uint8Array): void {
    let rest = record;
    let first = true;
    for (;;) {
      const blockLeft = BLOCK_SIZE - (this.size % BLOCK_SIZE);
      if (blockLeft < HEADER_SIZE) {
        this.push(Buffer.alloc(blockLeft));
        continue;
      }
      const room = blockLeft - HEADER_SIZE;
      const fragment = rest.subarray(0, room);
      const last = fragment.length === rest.length;
      const type = first && last ? FragmentType.Full : first ? FragmentType.First : last ? FragmentType.Last : FragmentType.Middle;
      const header = Buffer.alloc(HEADER_SIZE);
      header.writeUInt32LE(maskedChecksum(type, fragment), 0);
      header.writeUInt16LE(fragment.length, 4);
      header[6] = type;
      this.push(header);
      this.push(Buffer.from(fragment));
      rest = rest.subarray(fragment.length);
      first = false;
      if (last) return;
    }
  }

  get byteLength(): number {
    return this.size;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }

  private push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
  }
}
