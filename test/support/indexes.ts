/**
 * firestore.indexes.json: the global setup makes the offline emulator enforce it for every project, as
 * production does. Tests that need another index file for their own project load it through the offline
 * emulator's `PUT :indexes` extension.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const indexesPath = join(__dirname, '..', '..', 'firestore.indexes.json');

export interface IndexFile {
  indexes: Record<string, unknown>[];
  fieldOverrides?: { collectionGroup: string; fieldPath: string; indexes: Record<string, unknown>[] }[];
}

export function readIndexFile(): IndexFile {
  return JSON.parse(readFileSync(indexesPath, 'utf8')) as IndexFile;
}

/** The indexes the project's queries must be served by, in place of firestore.indexes.json (offline emulator only). */
export async function loadIndexes(projectId: string, file: IndexFile): Promise<void> {
  const host = process.env.FIRESTORE_EMULATOR_HOST;
  if (!host) throw new Error('FIRESTORE_EMULATOR_HOST is not set: run through vitest (global setup)');
  const response = await fetch(`http://${host}/emulator/v1/projects/${projectId}:indexes`, { method: 'PUT', body: JSON.stringify(file) });
  if (!response.ok) throw new Error(`indexes for ${projectId}: HTTP ${response.status} ${await response.text()}`);
}
