/**
 * `npm run check:reference-exports`: imports every export written by Google's emulator in
 * ../shared/reference/firestore-exports/ (see ../shared/reference/README.md; nothing of them is committed here).
 * For each: every record's checksum verified and every value decoded (`readExport` refuses anything else), no
 * file of the export left unread, the documents accepted by the engine's import, and written back and read
 * again to the same entity bytes (no loss). SHARED_DIR overrides where ../shared is.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { createEngine, type Value } from '../src/engine';
import { documentsForProject, readExport, writeExport } from '../src/export';
import { encodeEntity } from '../src/export/entity';

/** `../shared` beside the repository (where CI puts it), or SHARED_DIR. */
const sharedDir = process.env.SHARED_DIR ?? path.resolve(__dirname, '../../../../shared');
const referenceRoot = path.join(sharedDir, 'reference', 'firestore-exports');

function filesUnder(directory: string): string[] {
  return readdirSync(directory).flatMap((entry) => {
    const file = path.join(directory, entry);
    return statSync(file).isDirectory() ? filesUnder(file) : [file];
  });
}

function tally(value: Value, counts: Map<string, number>): void {
  const kind = Object.keys(value).find((key) => (value as Record<string, unknown>)[key] !== undefined) ?? 'none';
  counts.set(kind, (counts.get(kind) ?? 0) + 1);
  for (const element of value.arrayValue?.values ?? []) tally(element, counts);
  for (const field of Object.values(value.mapValue?.fields ?? {})) tally(field, counts);
}

function check(overallFile: string, scratch: string): string {
  const contents = readExport(overallFile);
  const exportRoot = path.dirname(overallFile);
  const unread = filesUnder(exportRoot).filter((file) => !contents.files.includes(file));
  if (unread.length > 0) throw new Error(`files the export does not list, so not read: ${unread.join(', ')}`);

  const projectId = contents.projectId ?? 'demo-empty';
  const databaseId = contents.databaseId ?? '(default)';
  const database = createEngine().database(projectId, databaseId);
  database.importDocuments(documentsForProject(contents, projectId));
  const stored = database.exportDocuments();
  if (stored.length !== contents.documents.length) throw new Error(`${contents.documents.length} documents read, ${stored.length} stored`);

  const again = readExport(writeExport(scratch, path.basename(exportRoot), { projectId, databaseId }, stored, Date.now));
  const bytes = (documents: typeof stored) => documents.map((document) => encodeEntity(projectId, databaseId, document).toString('hex')).sort();
  const before = bytes(contents.documents);
  const after = bytes(again.documents);
  if (before.length !== after.length || before.some((entity, i) => entity !== after[i])) {
    throw new Error('the documents written back and read again differ from the ones imported');
  }
  const counts = new Map<string, number>();
  for (const document of contents.documents) for (const value of Object.values(document.fields)) tally(value, counts);
  const types = [...counts].map(([kind, n]) => `${kind.replace(/Value$/, '')} ${n}`).join(', ');
  return `${contents.documents.length} documents of projects/${projectId}/databases/${databaseId}; values: ${types || 'none'}`;
}

function main(): void {
  const exports = filesUnder(referenceRoot)
    .filter((file) => file.endsWith('.overall_export_metadata'))
    .sort();
  if (exports.length === 0) throw new Error(`no export under ${referenceRoot}`);
  const scratch = mkdtempSync(path.join(tmpdir(), 'reference-exports-'));
  let failures = 0;
  try {
    for (const file of exports) {
      const name = path.relative(referenceRoot, file);
      try {
        console.log(`ok    ${name}: ${check(file, scratch)}`);
      } catch (error) {
        failures++;
        console.log(`FAIL  ${name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  console.log(`${exports.length - failures} passed, ${failures} failed`);
  if (failures > 0) process.exitCode = 1;
}

main();
