/**
 * Import and export in the format of Google's Firestore emulator (`firebase emulators:export`):
 *
 *   {dir}/firebase-export-metadata.json                      the Firebase CLI's index of the export
 *   {dir}/firestore_export/firestore_export.overall_export_metadata
 *   {dir}/firestore_export/all_namespaces/all_kinds/all_namespaces_all_kinds.export_metadata
 *   {dir}/firestore_export/all_namespaces/all_kinds/output-0  entity records (LevelDB log)
 *
 * Reading verifies every checksum and decodes every value; anything it cannot read fails the whole import
 * with the file and the record's position.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'fs';
import * as path from 'path';
import { z } from 'zod';
import type { DocumentContents, Value } from '../engine/api';
import { decodeEntity, encodeEntity } from './entity';
import { ExportFormatError } from './errors';
import { LogWriter, readLog } from './log';
import { KindEntry, readKindMetadata, readOverallMetadata, writeKindMetadata, writeOverallMetadata } from './metadata';
import { WireError } from './wire';

export { ExportFormatError } from './errors';

/** The Firebase CLI's names, which Google's emulator also uses for an export made through the CLI. */
export const FIRESTORE_EXPORT_NAME = 'firestore_export';
export const FIREBASE_METADATA_FILE = 'firebase-export-metadata.json';
const KIND_DIRECTORY = 'all_namespaces/all_kinds';
const KIND_METADATA_FILE = `${KIND_DIRECTORY}/all_namespaces_all_kinds.export_metadata`;
const OUTPUT_FILE = 'output-0';

export interface ExportContents {
  /** The project the export's keys name (null for an export of no document). */
  projectId: string | null;
  databaseId: string | null;
  /** In the order of the files. */
  documents: DocumentContents[];
  /** Every file read, the overall metadata file first. */
  files: string[];
}

function readFile(file: string, listedBy: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${String(error)})`;
    throw new ExportFormatError(file, `${reason} (listed by ${listedBy})`);
  }
}

/** A path the export lists, inside it. Exports written on Windows separate with backslashes. */
function within(directory: string, relative: string, listedBy: string): string {
  const parts = relative.split(/[\\/]/);
  if (path.isAbsolute(relative) || parts.includes('..')) {
    throw new ExportFormatError(listedBy, `"${relative}" is not a path inside the export`);
  }
  return path.join(directory, ...parts);
}

/** Reads an export from its `.overall_export_metadata` file (what Google's `--seed_from_export` takes). */
export function readExport(overallMetadataFile: string): ExportContents {
  let overall: Buffer;
  try {
    overall = readFileSync(overallMetadataFile);
  } catch (error) {
    throw new ExportFormatError(overallMetadataFile, `cannot be read as an overall export metadata file (${String(error)})`);
  }
  const contents: ExportContents = { projectId: null, databaseId: null, documents: [], files: [overallMetadataFile] };
  const seen = new Set<string>();
  for (const kind of readOverallMetadata(overall, overallMetadataFile)) {
    const kindFile = within(path.dirname(overallMetadataFile), kind.path, overallMetadataFile);
    const metadata = readKindMetadata(readFile(kindFile, overallMetadataFile), kindFile);
    contents.files.push(kindFile);
    let entities = 0;
    for (const output of metadata.outputs) {
      const outputFile = path.join(path.dirname(kindFile), output);
      contents.files.push(outputFile);
      for (const record of readLog(readFile(outputFile, kindFile), outputFile)) {
        const where = `record ${record.index} at byte ${record.offset}`;
        let entity;
        try {
          entity = decodeEntity(record.data);
        } catch (error) {
          if (error instanceof WireError) throw new ExportFormatError(outputFile, `${where}: ${error.message}`);
          throw error;
        }
        contents.projectId ??= entity.projectId;
        contents.databaseId ??= entity.databaseId;
        if (entity.projectId !== contents.projectId || entity.databaseId !== contents.databaseId) {
          throw new ExportFormatError(
            outputFile,
            `${where}: a document of projects/${entity.projectId}/databases/${entity.databaseId} in an export of ` +
              `projects/${contents.projectId}/databases/${contents.databaseId}`,
          );
        }
        const name = entity.segments.join('/');
        if (seen.has(name)) throw new ExportFormatError(outputFile, `${where}: document ${name} appears twice in the export`);
        seen.add(name);
        contents.documents.push({ segments: entity.segments, fields: entity.fields });
        entities++;
      }
    }
    if (entities !== kind.entities) {
      throw new ExportFormatError(kindFile, `holds ${entities} documents where ${overallMetadataFile} counts ${kind.entities}`);
    }
  }
  return contents;
}

function mapReferences(value: Value, rename: (reference: string) => string): Value {
  if (value.referenceValue !== undefined && value.referenceValue !== null) return { referenceValue: rename(value.referenceValue) };
  if (value.arrayValue) return { arrayValue: { values: (value.arrayValue.values ?? []).map((element) => mapReferences(element, rename)) } };
  if (value.mapValue) return { mapValue: { fields: mapFields(value.mapValue.fields ?? {}, rename) } };
  return value;
}

function mapFields(fields: Record<string, Value>, rename: (reference: string) => string): Record<string, Value> {
  const result: Record<string, Value> = {};
  for (const key of Object.keys(fields)) result[key] = mapReferences(fields[key], rename);
  return result;
}

/**
 * The documents as they are imported into `projectId`: references into the exported project are moved to it,
 * at any depth (references to other projects are kept).
 */
export function documentsForProject(contents: ExportContents, projectId: string): DocumentContents[] {
  if (contents.projectId === null || contents.projectId === projectId) return contents.documents;
  const prefix = `projects/${contents.projectId}/`;
  const rename = (reference: string) => (reference.startsWith(prefix) ? `projects/${projectId}/${reference.slice(prefix.length)}` : reference);
  return contents.documents.map((document) => ({ segments: document.segments, fields: mapFields(document.fields, rename) }));
}

export interface ExportSource {
  projectId: string;
  databaseId: string;
}

/**
 * The files of the export `exportName` of `documents`, by path relative to its directory (the overall metadata
 * file first). `now` gives the start and end times recorded in the metadata (epoch ms).
 */
export function exportFiles(exportName: string, source: ExportSource, documents: Iterable<DocumentContents>, now: () => number): Map<string, Buffer> {
  const startMicros = BigInt(Math.floor(now() * 1000));
  const output = new LogWriter();
  let entities = 0;
  for (const document of documents) {
    output.add(encodeEntity(source.projectId, source.databaseId, document));
    entities++;
  }
  const endMicros = BigInt(Math.floor(now() * 1000));
  const kind: KindEntry = { path: KIND_METADATA_FILE, entities, bytes: output.byteLength };
  return new Map([
    [`${exportName}.overall_export_metadata`, writeOverallMetadata([kind])],
    [KIND_METADATA_FILE, writeKindMetadata({ exportName, startMicros, endMicros, outputs: [OUTPUT_FILE] })],
    [`${KIND_DIRECTORY}/${OUTPUT_FILE}`, output.toBuffer()],
  ]);
}

/** Writes the export `{directory}/{exportName}` (replacing an earlier one of that name); returns its overall metadata file. */
export function writeExport(directory: string, exportName: string, source: ExportSource, documents: Iterable<DocumentContents>, now: () => number): string {
  const files = exportFiles(exportName, source, documents, now);
  // Written beside the target and moved into place: a failed export leaves the previous one whole.
  const target = path.join(directory, exportName);
  const staging = path.join(directory, `.${exportName}.${process.pid}.partial`);
  rmSync(staging, { recursive: true, force: true });
  for (const [file, data] of files) {
    mkdirSync(path.dirname(path.join(staging, file)), { recursive: true });
    writeFileSync(path.join(staging, file), data);
  }
  rmSync(target, { recursive: true, force: true });
  renameSync(staging, target);
  return path.join(target, `${exportName}.overall_export_metadata`);
}

const FirebaseExportMetadata = z.looseObject({
  firestore: z.looseObject({ metadata_file: z.string().min(1) }).optional(),
});

function readFirebaseMetadata(directory: string): z.infer<typeof FirebaseExportMetadata> | null {
  const file = path.join(directory, FIREBASE_METADATA_FILE);
  if (!existsSync(file)) return null;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ExportFormatError(file, `is not JSON (${String(error)})`);
  }
  const parsed = FirebaseExportMetadata.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ExportFormatError(file, `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * The overall metadata file of the Firestore part of a Firebase CLI export directory (what
 * `firebase emulators:start --import DIR` hands Google's emulator), or null when the directory has none;
 * an `.overall_export_metadata` file is taken as it is.
 */
export function firestoreExportOf(directory: string): string | null {
  // Google's emulator takes the metadata file itself (`--seed_from_export`): so do we.
  if (directory.endsWith('.overall_export_metadata') && existsSync(directory)) return directory;
  if (!existsSync(directory) || !statSync(directory).isDirectory()) {
    throw new ExportFormatError(directory, 'is not a directory (--import takes the directory `firebase emulators:export` writes)');
  }
  const metadata = readFirebaseMetadata(directory);
  if (!metadata) throw new ExportFormatError(path.join(directory, FIREBASE_METADATA_FILE), 'does not exist: not a Firebase export');
  return metadata.firestore ? within(directory, metadata.firestore.metadata_file, path.join(directory, FIREBASE_METADATA_FILE)) : null;
}

/**
 * Writes the Firestore part of a Firebase CLI export directory (`--export-on-exit DIR`): `firestore_export/`,
 * and the `firestore` entry of `firebase-export-metadata.json`, keeping the entries of the other emulators.
 */
export function writeFirebaseExport(directory: string, source: ExportSource, documents: Iterable<DocumentContents>, now: () => number): void {
  mkdirSync(directory, { recursive: true });
  writeExport(directory, FIRESTORE_EXPORT_NAME, source, documents, now);
  const metadata = readFirebaseMetadata(directory) ?? {};
  const updated = { ...metadata, firestore: firebaseMetadataEntry() };
  writeFileSync(path.join(directory, FIREBASE_METADATA_FILE), `${JSON.stringify(updated, null, 2)}\n`);
}

/** The `firestore` entry of `firebase-export-metadata.json` for an export written by this emulator. Its version
 *  names this emulator, not a version of Google's (the Firebase CLI reads only `metadata_file`). */
export function firebaseMetadataEntry(): { version: string; path: string; metadata_file: string } {
  return {
    version: 'leadpulse-offline-emulator',
    path: FIRESTORE_EXPORT_NAME,
    metadata_file: `${FIRESTORE_EXPORT_NAME}/${FIRESTORE_EXPORT_NAME}.overall_export_metadata`,
  };
}
