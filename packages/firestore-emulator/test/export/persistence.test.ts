/**
 * `--import` and `--export-on-exit` end to end, through firebase-admin against an emulator of this file's own:
 * what one run writes, the next run starts with. Specific to ours, so skipped against Google's emulator.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { GeoPoint, Timestamp } from 'firebase-admin/firestore';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src';
import { ExportFormatError, readExport, writeFirebaseExport } from '../../src/export';
import { adminClient, offlineEmulator, rejectionOf } from '../conformance/support';
import { canonicalDocuments } from './arbitraries';

const scratch = mkdtempSync(path.join(tmpdir(), 'export-persistence-'));
const PROJECT = 'demo-persist';
const previousHost = process.env.FIRESTORE_EMULATOR_HOST;
let running: RunningEmulator | null = null;

async function start(importDirectory?: string): Promise<RunningEmulator> {
  running = await startEmulator({ port: 0, importDirectory });
  process.env.FIRESTORE_EMULATOR_HOST = `${running.host}:${running.port}`;
  return running;
}

afterEach(async () => {
  await running?.stop();
  running = null;
});
afterAll(() => {
  if (previousHost === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
  else process.env.FIRESTORE_EMULATOR_HOST = previousHost;
  rmSync(scratch, { recursive: true, force: true });
});

/** A Firebase export directory with the Auth part of another emulator and these Firestore documents. */
function seedDirectory(name: string): string {
  const directory = path.join(scratch, name);
  writeFirebaseExport(
    directory,
    { projectId: PROJECT, databaseId: '(default)' },
    [
      {
        segments: ['orgs', 'acme'],
        fields: { name: { stringValue: 'Acme' }, self: { referenceValue: `projects/${PROJECT}/databases/(default)/documents/orgs/acme` } },
      },
      { segments: ['missing', 'm', 'sub', 'y'], fields: { n: { integerValue: '6' } } },
    ],
    () => Date.UTC(2026, 0, 1),
  );
  const metadataFile = path.join(directory, 'firebase-export-metadata.json');
  const metadata = JSON.parse(readFileSync(metadataFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(metadataFile, JSON.stringify({ ...metadata, auth: { version: '15.34.2', path: 'auth_export' } }));
  return directory;
}

describe.skipIf(!offlineEmulator)('import and export across restarts', () => {
  it("starts every project from the import, keeps what a run wrote, and keeps the other emulators' part of the directory", async () => {
    const directory = seedDirectory('restart');
    const emulator = await start(directory);
    let admin = adminClient(PROJECT);
    try {
      const { db } = admin;
      expect((await db.doc('orgs/acme').get()).data()?.name).toBe('Acme');
      // A document whose parent does not exist: the parent is listed but has no data.
      expect((await db.doc('missing/m').get()).exists).toBe(false);
      expect((await db.doc('missing/m/sub/y').get()).data()).toEqual({ n: 6 });
      expect((await db.collection('missing').listDocuments()).map((ref) => ref.path)).toEqual(['missing/m']);

      const when = Timestamp.fromMillis(Date.UTC(2026, 5, 1, 12, 0, 0, 123));
      await db.doc('orgs/acme/contacts/c1').set({ when, at: new GeoPoint(48.85, 2.35), tags: [], meta: {}, raw: Buffer.from([0, 255]), nan: NaN });
      await db.doc('orgs/acme').update({ name: 'Acme Corp' });
      await db.doc('missing/m/sub/y').delete();
    } finally {
      await admin.close();
    }
    emulator.exportTo(directory, PROJECT);
    await emulator.stop();
    running = null;

    await start(directory);
    admin = adminClient(PROJECT);
    try {
      const { db } = admin;
      expect((await db.doc('orgs/acme').get()).data()?.name).toBe('Acme Corp');
      expect((await db.doc('missing/m/sub/y').get()).exists).toBe(false);
      const contact = (await db.doc('orgs/acme/contacts/c1').get()).data();
      expect(contact).toEqual({
        when: Timestamp.fromMillis(Date.UTC(2026, 5, 1, 12, 0, 0, 123)),
        at: new GeoPoint(48.85, 2.35),
        tags: [],
        meta: {},
        raw: Buffer.from([0, 255]),
        nan: NaN,
      });
    } finally {
      await admin.close();
    }
    const metadata = JSON.parse(readFileSync(path.join(directory, 'firebase-export-metadata.json'), 'utf8')) as Record<string, unknown>;
    expect(metadata.auth).toEqual({ version: '15.34.2', path: 'auth_export' });
    expect(metadata.firestore).toMatchObject({ path: 'firestore_export', metadata_file: 'firestore_export/firestore_export.overall_export_metadata' });
  });

  it('seeds another project too, moving references into it; a cleared database is not seeded again', async () => {
    const emulator = await start(seedDirectory('other-project'));
    const admin = adminClient('demo-elsewhere');
    try {
      const data = (await admin.db.doc('orgs/acme').get()).data();
      expect(data?.self.path).toBe('orgs/acme');
      expect(data?.self.firestore.projectId).toBe('demo-elsewhere');
      const cleared = await fetch(`http://${emulator.host}:${emulator.port}/emulator/v1/projects/demo-elsewhere/databases/(default)/documents`, {
        method: 'DELETE',
      });
      expect(cleared.status).toBe(200);
      expect((await admin.db.doc('orgs/acme').get()).exists).toBe(false);
    } finally {
      await admin.close();
    }
  });

  it('refuses to start on an export it cannot read, naming the file and record', async () => {
    const directory = seedDirectory('corrupt');
    const output = path.join(directory, 'firestore_export/all_namespaces/all_kinds/output-0');
    const data = readFileSync(output);
    data[data.length - 1] ^= 0xff;
    writeFileSync(output, data);
    const failure = await rejectionOf(startEmulator({ port: 0, importDirectory: directory }));
    expect(failure).toBeInstanceOf(ExportFormatError);
    expect(failure.message).toMatch(/output-0: record 1 at byte \d+: checksum mismatch \(the record is corrupt\)$/);
  });
});

describe.skipIf(!offlineEmulator)('POST /emulator/v1/projects/{id}:export and :import', () => {
  async function post(body: unknown, verb = 'export'): Promise<{ status: number; body: unknown }> {
    const emulator = running;
    if (!emulator) throw new Error('no emulator is running');
    const response = await fetch(`http://${emulator.host}:${emulator.port}/emulator/v1/projects/${PROJECT}:${verb}`, {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  }

  it('writes the database the body names, as the Firebase CLI asks', async () => {
    const emulator = await start(seedDirectory('http'));
    const admin = adminClient(PROJECT);
    try {
      await admin.db.doc('orgs/acme/contacts/c2').set({ n: 1 });
    } finally {
      await admin.close();
    }
    const target = mkdtempSync(path.join(scratch, 'http-out-'));
    const answer = await post({ database: `projects/${PROJECT}/databases/(default)`, export_directory: target, export_name: 'firestore_export' });
    expect(answer).toEqual({ status: 200, body: {} });
    const exported = readExport(path.join(target, 'firestore_export/firestore_export.overall_export_metadata'));
    expect(canonicalDocuments(exported.documents)).toEqual(canonicalDocuments(emulator.engine.database(PROJECT, '(default)').exportDocuments()));
    expect(exported.documents.map((document) => document.segments.join('/')).sort()).toEqual(['missing/m/sub/y', 'orgs/acme', 'orgs/acme/contacts/c2']);

    // And into another project's named database, with references moved into that project.
    const metadataFile = path.join(target, 'firestore_export/firestore_export.overall_export_metadata');
    expect(await post({ database: 'projects/demo-copy/databases/db2', export_directory: metadataFile }, 'import')).toEqual({ status: 200, body: {} });
    const copy = emulator.engine.database('demo-copy', 'db2').exportDocuments();
    expect(copy.map((document) => document.segments.join('/'))).toEqual(['missing/m/sub/y', 'orgs/acme', 'orgs/acme/contacts/c2']);
    expect(copy[1].fields.self).toEqual({ referenceValue: 'projects/demo-copy/databases/(default)/documents/orgs/acme' });
  });

  it('refuses an import it cannot read, naming the file and record, and imports nothing of it', async () => {
    const emulator = await start();
    const directory = seedDirectory('http-import-corrupt');
    const output = path.join(directory, 'firestore_export/all_namespaces/all_kinds/output-0');
    const data = readFileSync(output);
    data[data.length - 1] ^= 0xff;
    writeFileSync(output, data);
    const answer = await post(
      {
        database: 'projects/demo-copy2/databases/(default)',
        export_directory: path.join(directory, 'firestore_export/firestore_export.overall_export_metadata'),
      },
      'import',
    );
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toMatch(/output-0: record 1 at byte \d+: checksum mismatch/);
    expect(emulator.engine.database('demo-copy2', '(default)').exportDocuments()).toEqual([]);
  });

  it("answers bad requests as Google's emulator does, writing nothing", async () => {
    await start();
    const target = mkdtempSync(path.join(scratch, 'http-bad-'));
    const database = `projects/${PROJECT}/databases/(default)`;
    const error = (code: number, message: string, status: string) => ({ status: code, body: { error: { code, message, status } } });
    expect(await post({ database, export_directory: path.join(target, 'nosuch'), export_name: 'n' })).toEqual(
      error(400, 'export_directory must be a directory', 'FAILED_PRECONDITION'),
    );
    expect(await post({ database, export_directory: 'relative', export_name: 'n' })).toEqual(
      error(400, 'export_directory must be a directory', 'FAILED_PRECONDITION'),
    );
    expect(await post({ database, export_directory: target, export_name: 'n', bogus: 1 })).toEqual(
      error(400, "Payload isn't valid for request.", 'INVALID_ARGUMENT'),
    );
    expect(await post('not json')).toEqual(error(400, "Payload isn't valid for request.", 'INVALID_ARGUMENT'));
    expect(await post({ database: 'garbage', export_directory: target })).toEqual(
      error(400, 'Database name "garbage" lacks "projects" at index 0.', 'INVALID_ARGUMENT'),
    );
    expect(await post({ database, export_directory: target, export_name: 'a/b' })).toEqual(error(500, 'failed to write export', 'INTERNAL'));
    expect(readdirSync(target)).toEqual([]);
  });
});
