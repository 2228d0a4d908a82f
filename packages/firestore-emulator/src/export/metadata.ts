/**
 * The two metadata files of an export, as Google's emulator writes them:
 * - `{name}.overall_export_metadata`: a LevelDB log of two records, the format version "3" and a message
 *   listing each kind directory's metadata file (field 1, repeated: {1: {1: 2, 3: 3}, 2: relative path,
 *   3: entity count, 4: bytes of its output files}).
 * - `all_namespaces/all_kinds/all_namespaces_all_kinds.export_metadata`: a plain message
 *   {1: {1: export name, 2: start µs, 3: end µs}, 2 (repeated): {1: "", 2: output file name}}.
 */
import { ExportFormatError } from './errors';
import { LogWriter, readLog } from './log';
import { WireError, WireReader, WireType, WireWriter } from './wire';

export const OVERALL_VERSION = Buffer.from('3');
/** The first field of each kind entry: always these two numbers in Google's exports (all namespaces, all kinds). */
const ALL_NAMESPACES_ALL_KINDS = Buffer.from([0x08, 0x02, 0x18, 0x03]);

export interface KindEntry {
  /** The kind directory's metadata file, relative to the overall file's directory. */
  path: string;
  entities: number;
  bytes: number;
}

export interface KindMetadata {
  exportName: string;
  startMicros: bigint;
  endMicros: bigint;
  /** Output file names, relative to the kind metadata file's directory. */
  outputs: string[];
}

function wireFailure(file: string, where: string, error: unknown): never {
  if (error instanceof WireError) throw new ExportFormatError(file, `${where}: ${error.message}`);
  throw error;
}

function string(reader: WireReader, what: string): string {
  const bytes = reader.bytes();
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw new WireError(`${what} is not valid UTF-8`);
  return text;
}

function count(reader: WireReader, what: string): number {
  const value = reader.varint();
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireError(`${what} ${value} is too large`);
  return Number(value);
}

export function readOverallMetadata(data: Buffer, file: string): KindEntry[] {
  const records = [...readLog(data, file)];
  if (records.length === 0 || !records[0].data.equals(OVERALL_VERSION)) {
    throw new ExportFormatError(file, "not an overall export metadata file of version 3 (the version Google's emulator writes)");
  }
  if (records.length !== 2) throw new ExportFormatError(file, `${records.length} records where the format has 2`);
  const { data: message, index, offset } = records[1];
  const where = `record ${index} at byte ${offset}`;
  const kinds: KindEntry[] = [];
  try {
    const reader = new WireReader(message);
    while (!reader.done) {
      const tag = reader.tag();
      if (tag.field !== 1 || tag.type !== WireType.LengthDelimited) throw new WireError(`unexpected field ${tag.field} in the overall metadata`);
      const entry = reader.message();
      let path: string | null = null;
      let entities = 0;
      let bytes = 0;
      while (!entry.done) {
        const inner = entry.tag();
        if (inner.field === 1 && inner.type === WireType.LengthDelimited) {
          const spec = entry.bytes();
          if (!spec.equals(ALL_NAMESPACES_ALL_KINDS)) throw new WireError(`a kind entry selects ${spec.toString('hex')}, not all namespaces and kinds`);
        } else if (inner.field === 2 && inner.type === WireType.LengthDelimited) path = string(entry, 'a kind metadata path');
        else if (inner.field === 3 && inner.type === WireType.Varint) entities = count(entry, 'an entity count');
        else if (inner.field === 4 && inner.type === WireType.Varint) bytes = count(entry, 'a byte count');
        else throw new WireError(`unexpected field ${inner.field} in a kind entry`);
      }
      if (path === null) throw new WireError('a kind entry names no metadata file');
      kinds.push({ path, entities, bytes });
    }
  } catch (error) {
    wireFailure(file, where, error);
  }
  return kinds;
}

export function writeOverallMetadata(kinds: KindEntry[]): Buffer {
  const message = new WireWriter();
  for (const kind of kinds) {
    const entry = new WireWriter().bytes(1, ALL_NAMESPACES_ALL_KINDS).string(2, kind.path).varint(3, kind.entities).varint(4, kind.bytes);
    message.message(1, entry);
  }
  const log = new LogWriter();
  log.add(OVERALL_VERSION);
  log.add(message.toBuffer());
  return log.toBuffer();
}

export function readKindMetadata(data: Buffer, file: string): KindMetadata {
  const metadata: KindMetadata = { exportName: '', startMicros: 0n, endMicros: 0n, outputs: [] };
  try {
    const reader = new WireReader(data);
    while (!reader.done) {
      const tag = reader.tag();
      if (tag.field === 1 && tag.type === WireType.LengthDelimited) {
        const header = reader.message();
        while (!header.done) {
          const inner = header.tag();
          if (inner.field === 1 && inner.type === WireType.LengthDelimited) metadata.exportName = string(header, 'the export name');
          else if (inner.field === 2 && inner.type === WireType.Varint) metadata.startMicros = header.varint();
          else if (inner.field === 3 && inner.type === WireType.Varint) metadata.endMicros = header.varint();
          else throw new WireError(`unexpected field ${inner.field} in the export header`);
        }
      } else if (tag.field === 2 && tag.type === WireType.LengthDelimited) {
        const output = reader.message();
        let name: string | null = null;
        while (!output.done) {
          const inner = output.tag();
          if (inner.field === 1 && inner.type === WireType.LengthDelimited) {
            const namespace = string(output, 'a namespace');
            if (namespace !== '') throw new WireError(`an output in namespace "${namespace}": Firestore has no namespaces`);
          } else if (inner.field === 2 && inner.type === WireType.LengthDelimited) name = string(output, 'an output file name');
          else throw new WireError(`unexpected field ${inner.field} in an output entry`);
        }
        if (name === null || name === '' || name.includes('/') || name.includes('\\') || name.startsWith('.')) {
          throw new WireError(`an output entry names no plain file ("${name ?? ''}")`);
        }
        metadata.outputs.push(name);
      } else throw new WireError(`unexpected field ${tag.field}`);
    }
  } catch (error) {
    wireFailure(file, 'the kind metadata', error);
  }
  if (metadata.outputs.length === 0) throw new ExportFormatError(file, 'the kind metadata lists no output file');
  return metadata;
}

export function writeKindMetadata(metadata: KindMetadata): Buffer {
  const header = new WireWriter().string(1, metadata.exportName).varint(2, metadata.startMicros).varint(3, metadata.endMicros);
  const message = new WireWriter().message(1, header);
  for (const output of metadata.outputs) message.message(2, new WireWriter().bytes(1, Buffer.alloc(0)).string(2, output));
  return message.toBuffer();
}
