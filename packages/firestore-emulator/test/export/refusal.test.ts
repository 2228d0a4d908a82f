import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { Code, createEngine, RpcError } from '../../src/engine';
import { ExportFormatError, readExport, writeExport } from '../../src/export';
import { encodeEntity } from '../../src/export/entity';
import { LogWriter } from '../../src/export/log';
import { WireWriter } from '../../src/export/wire';

const scratch = mkdtempSync(path.join(tmpdir(), 'export-refusal-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const OUTPUT = 'all_namespaces/all_kinds/output-0';
let exports = 0;

/** A valid export of three documents; returns its overall metadata file and its directory. */
function exportOfThree(): { overall: string; root: string } {
  const name = `e${exports++}`;
  const docs = ['a', 'b', 'c'].map((id) => ({ segments: ['c', id], fields: { n: { stringValue: id } } }));
  const overall = writeExport(scratch, name, { projectId: 'p', databaseId: '(default)' }, docs, () => 0);
  return { overall, root: path.join(scratch, name) };
}

function refusal(overall: string): string {
  try {
    readExport(overall);
  } catch (error) {
    expect(error).toBeInstanceOf(ExportFormatError);
    return (error as Error).message;
  }
  throw new Error('the export was read');
}

/** Replaces the output file by a log of these records. */
function replaceOutput(root: string, records: Buffer[]): string {
  const log = new LogWriter();
  for (const record of records) log.add(record);
  const file = path.join(root, OUTPUT);
  writeFileSync(file, log.toBuffer());
  return file;
}

describe('refusing what cannot be read', () => {
  it('names the file and the record of a checksum mismatch', () => {
    const { overall, root } = exportOfThree();
    const file = path.join(root, OUTPUT);
    const data = readFileSync(file);
    const second = 7 + data.readUInt16LE(4);
    data[second + 20] ^= 0x40;
    writeFileSync(file, data);
    expect(refusal(overall)).toBe(`${file}: record 1 at byte ${second}: checksum mismatch (the record is corrupt)`);
  });

  it('names the record that is not an entity, or holds a value it cannot read', () => {
    const { overall, root } = exportOfThree();
    const good = encodeEntity('p', '(default)', { segments: ['c', 'a'], fields: {} });
    const unknownField = Buffer.concat([good, new WireWriter().varint(99, 1).toBuffer()]);
    let file = replaceOutput(root, [good, unknownField, good]);
    expect(refusal(overall)).toBe(`${file}: record 1 at byte ${7 + good.length}: unexpected field 99 (wire type 0) in the entity`);

    // A property of meaning USER (a Datastore type Firestore does not have).
    const property = new WireWriter().varint(1, 20).string(3, 'who').varint(4, false).message(5, new WireWriter().string(3, 'x'));
    const element = () => new WireWriter().string(2, 'c').string(4, 'a');
    const key = new WireWriter().string(13, 'dev~p').message(14, new WireWriter().group(1, element()));
    const strange = new WireWriter().message(13, key).message(15, property).message(16, new WireWriter().group(1, element())).toBuffer();
    file = replaceOutput(root, [strange]);
    expect(refusal(overall)).toBe(`${file}: record 0 at byte 0: property "who": meaning 20 is not a Firestore value`);

    // A second key: a record is one document.
    const twoKeys = new WireWriter().message(13, key).message(13, key).message(16, new WireWriter().group(1, element())).toBuffer();
    file = replaceOutput(root, [twoKeys]);
    expect(refusal(overall)).toBe(`${file}: record 0 at byte 0: unexpected field 13 (wire type 2) in the entity`);
  });

  it('refuses a missing output file, a count that does not match, and a metadata file of another version', () => {
    let { overall, root } = exportOfThree();
    rmSync(path.join(root, OUTPUT));
    expect(refusal(overall)).toMatch(/output-0: does not exist \(listed by .*all_namespaces_all_kinds.export_metadata\)$/);

    ({ overall, root } = exportOfThree());
    const good = encodeEntity('p', '(default)', { segments: ['c', 'a'], fields: {} });
    replaceOutput(root, [good, encodeEntity('p', '(default)', { segments: ['c', 'b'], fields: {} })]);
    expect(refusal(overall)).toMatch(/all_namespaces_all_kinds.export_metadata: holds 2 documents where .* counts 3$/);

    replaceOutput(root, [good, good, good]);
    expect(refusal(overall)).toMatch(/output-0: record 1 at byte \d+: document c\/a appears twice in the export$/);

    const log = new LogWriter();
    log.add(Buffer.from('4'));
    writeFileSync(overall, log.toBuffer());
    expect(refusal(overall)).toBe(`${overall}: not an overall export metadata file of version 3 (the version Google's emulator writes)`);
  });

  it('ends the open transactions of the database it imports into', async () => {
    const database = createEngine().database('p', '(default)');
    const owner = { kind: 'owner' as const };
    const { transaction } = await database.beginTransaction({ database: database.name }, owner);
    await database.batchGetDocuments({ database: database.name, documents: [`${database.name}/documents/c/a`], transaction }, owner);
    database.importDocuments([{ segments: ['c', 'a'], fields: { n: { integerValue: '1' } } }]);
    const commit = database.commit(
      { database: database.name, transaction, writes: [{ update: { name: `${database.name}/documents/c/a`, fields: {} } }] },
      owner,
    );
    await expect(commit).rejects.toMatchObject({ code: Code.ABORTED });
    expect(database.exportDocuments()).toEqual([{ segments: ['c', 'a'], fields: { n: { integerValue: '1' } } }]);
  });

  it('imports nothing when one document is invalid, naming it and the field', () => {
    const database = createEngine().database('p', '(default)');
    const bad = { segments: ['c', 'b'], fields: { where: { geoPointValue: { latitude: 91, longitude: 0 } } } };
    let failure: unknown;
    try {
      database.importDocuments([{ segments: ['c', 'a'], fields: {} }, bad]);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(RpcError);
    expect((failure as RpcError).code).toBe(Code.INVALID_ARGUMENT);
    expect((failure as RpcError).message).toBe('Imported document "projects/p/databases/(default)/documents/c/b": where: latitude 91 is not in [-90, 90].');
    expect(database.exportDocuments()).toEqual([]);
  });
});
