import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine';
import { readExport, writeExport } from '../../src/export';
import { writeOverallMetadata } from '../../src/export/metadata';
import { canonicalDocuments, documents } from './arbitraries';

const scratch = mkdtempSync(path.join(tmpdir(), 'export-round-trip-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const fixedClock = () => Date.UTC(2026, 10, 29);

describe('export round trip', () => {
  it('reads back every generated document unchanged: every value type, subcollections, parents that do not exist', () => {
    let run = 0;
    fc.assert(
      fc.property(documents, (docs) => {
        const overall = writeExport(scratch, `run-${run++}`, { projectId: 'demo-export', databaseId: '(default)' }, docs, fixedClock);
        const read = readExport(overall);
        expect(canonicalDocuments(read.documents)).toEqual(canonicalDocuments(docs));
        expect(read.projectId).toBe(docs.length > 0 ? 'demo-export' : null);
      }),
      { numRuns: 150 },
    );
  });

  it('round-trips through the engine: an import exports unchanged, and only the documents that exist', () => {
    fc.assert(
      fc.property(documents, (docs) => {
        const database = createEngine().database('demo-export', '(default)');
        database.importDocuments(docs);
        expect(canonicalDocuments(database.exportDocuments())).toEqual(canonicalDocuments(docs));
      }),
      { numRuns: 100 },
    );
  });

  it('reads an export written on Windows, whose metadata separates paths with backslashes', () => {
    const docs = [{ segments: ['c', 'x'], fields: { n: { integerValue: '1' } } }];
    const overall = writeExport(scratch, 'windows', { projectId: 'p', databaseId: '(default)' }, docs, fixedClock);
    const kindFile = 'all_namespaces\\all_kinds\\all_namespaces_all_kinds.export_metadata';
    writeFileSync(overall, writeOverallMetadata([{ path: kindFile, entities: 1, bytes: 0 }]));
    expect(canonicalDocuments(readExport(overall).documents)).toEqual(canonicalDocuments(docs));
  });

  it('keeps a byte order mark that starts a string', () => {
    const docs = [{ segments: ['c', 'x'], fields: { s: { stringValue: '\uFEFFtext' } } }];
    const read = readExport(writeExport(scratch, 'bom', { projectId: 'p', databaseId: '(default)' }, docs, fixedClock));
    expect(read.documents[0].fields.s).toEqual({ stringValue: '\uFEFFtext' });
  });

  it('keeps a named database in the keys', () => {
    const docs = [{ segments: ['c', 'x'], fields: { n: { integerValue: '8' } } }];
    const read = readExport(writeExport(scratch, 'db2', { projectId: 'demo-export', databaseId: 'db2' }, docs, fixedClock));
    expect({ projectId: read.projectId, databaseId: read.databaseId }).toEqual({ projectId: 'demo-export', databaseId: 'db2' });
  });
});
