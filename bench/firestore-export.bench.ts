/**
 * Export and import in the Firebase emulator format, in-process: 10,000 CRM-shaped documents (strings,
 * integers, timestamps, a map, an array) exported from the engine to disk, read back (checksums verified,
 * every value decoded) and imported into a fresh engine.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, type DocumentContents } from '../packages/firestore-emulator/src/engine';
import { readExport, writeExport } from '../packages/firestore-emulator/src/export';

const DOCUMENTS = 10_000;
const ROUNDS = 5;

function contact(i: number): DocumentContents {
  return {
    segments: ['orgs', `org-${i % 10}`, 'contacts', `contact-${i}`],
    fields: {
      name: { stringValue: `Contact ${i}` },
      email: { stringValue: `contact${i}@example.com` },
      status: { stringValue: ['lead', 'prospect', 'customer'][i % 3] },
      score: { integerValue: String(i * 7) },
      createdAt: { timestampValue: { seconds: String(1_767_600_000 + i), nanos: 123_000 } },
      address: { mapValue: { fields: { city: { stringValue: 'Springfield' }, zip: { stringValue: String(10_000 + i) } } } },
      tags: { arrayValue: { values: [{ stringValue: 'warm' }, { stringValue: `q${i % 4}` }] } },
    },
  };
}

function best(times: number[]): number {
  return Math.min(...times);
}

export async function run(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'bench-export-'));
  try {
    const source = createEngine().database('demo-bench', '(default)');
    source.importDocuments(Array.from({ length: DOCUMENTS }, (_, i) => contact(i)));
    const exports: number[] = [];
    const reads: number[] = [];
    const imports: number[] = [];
    let overall = '';
    for (let round = 0; round < ROUNDS; round++) {
      let start = performance.now();
      overall = writeExport(scratch, 'firestore_export', { projectId: 'demo-bench', databaseId: '(default)' }, source.exportDocuments(), Date.now);
      exports.push(performance.now() - start);
      start = performance.now();
      const contents = readExport(overall);
      reads.push(performance.now() - start);
      start = performance.now();
      createEngine().database('demo-bench', '(default)').importDocuments(contents.documents);
      imports.push(performance.now() - start);
    }
    const size = statSync(join(scratch, 'firestore_export/all_namespaces/all_kinds/output-0')).size;
    const rate = (ms: number) => `${Math.round(best([ms]))} ms (${Math.round(DOCUMENTS / (ms / 1000)).toLocaleString('en-US')} docs/s)`;
    console.log(`${DOCUMENTS.toLocaleString('en-US')} documents, output-0 ${(size / 1024 / 1024).toFixed(1)} MiB; best of ${ROUNDS}:`);
    console.log(`  export (engine -> files)        ${rate(best(exports))}`);
    console.log(`  read (checksums, every value)   ${rate(best(reads))}`);
    console.log(`  import (validate, write)        ${rate(best(imports))}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
