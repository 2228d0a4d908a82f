import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExportFormatError } from '../../src/export';
import { BLOCK_SIZE, crc32c, LogWriter, readLog } from '../../src/export/log';

function write(records: Uint8Array[]): Buffer {
  const writer = new LogWriter();
  for (const record of records) writer.add(record);
  return writer.toBuffer();
}

function refusal(data: Buffer): string {
  try {
    Array.from(readLog(data, 'output-0'));
  } catch (error) {
    expect(error).toBeInstanceOf(ExportFormatError);
    return (error as Error).message;
  }
  throw new Error('the log was read');
}

describe('LevelDB log', () => {
  it('computes CRC32C (Castagnoli) as specified', () => {
    // RFC 3720 B.4 test vectors.
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('reads back any records, including ones spanning several 32 KiB blocks', () => {
    const record = fc.uint8Array({ maxLength: 3 * BLOCK_SIZE });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 6 }), (records) => {
        const read = [...readLog(write(records), 'output-0')];
        expect(read.map((r) => Buffer.from(r.data))).toEqual(records.map((r) => Buffer.from(r)));
        expect(read.map((r) => r.index)).toEqual(records.map((_, i) => i));
      }),
      { numRuns: 40 },
    );
  });

  it('pads a block whose rest cannot hold a header with zeros, and starts the next record in the next block', () => {
    // 7 + 32754 leaves 7 bytes: one empty record fits; 7 + 32755 leaves 6: padding.
    const fits = write([Buffer.alloc(BLOCK_SIZE - 14), Buffer.alloc(0)]);
    expect(fits.length).toBe(BLOCK_SIZE);
    const padded = write([Buffer.alloc(BLOCK_SIZE - 13), Buffer.alloc(1, 9)]);
    expect(padded.length).toBe(BLOCK_SIZE + 8);
    expect(padded.subarray(BLOCK_SIZE - 6, BLOCK_SIZE)).toEqual(Buffer.alloc(6));
    expect([...readLog(padded, 'x')][1]).toMatchObject({ index: 1, offset: BLOCK_SIZE });
  });

  it('refuses a record whose checksum does not match, naming the file, record and byte', () => {
    const data = write([Buffer.from('first'), Buffer.from('second')]);
    data[7 + 5 + 7 + 2] ^= 0x01;
    expect(refusal(data)).toBe('output-0: record 1 at byte 12: checksum mismatch (the record is corrupt)');
  });

  it('refuses a truncated file', () => {
    const data = write([Buffer.from('first'), Buffer.alloc(100, 1)]);
    expect(refusal(data.subarray(0, data.length - 1))).toBe('output-0: record 1 at byte 12: the file ends inside a 100-byte fragment (truncated)');
    expect(refusal(data.subarray(0, 15))).toBe('output-0: record 1 at byte 12: the file ends inside a record header (truncated)');
    const spanning = write([Buffer.alloc(BLOCK_SIZE * 2)]);
    expect(refusal(spanning.subarray(0, BLOCK_SIZE))).toBe('output-0: record 0 at byte 0: the file ends before the record is finished (truncated)');
  });

  it('refuses non-zero block padding and unknown fragment types', () => {
    const padded = write([Buffer.alloc(BLOCK_SIZE - 13), Buffer.alloc(1)]);
    padded[BLOCK_SIZE - 1] = 1;
    expect(refusal(padded)).toBe('output-0: record 1 at byte 32762: non-zero bytes in the padding at the end of a block');
    const typed = write([Buffer.from('x')]);
    typed[6] = 9;
    expect(refusal(typed)).toBe('output-0: record 0 at byte 0: unknown fragment type 9');
  });
});
