/**
 * The command: `--import DIR` and `--export-on-exit DIR --project ID`, as a developer runs them, through a real
 * process stopped with SIGINT. Specific to ours, so skipped against Google's emulator.
 */
import { spawn, type ChildProcessByStdio } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import type { Readable } from 'stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readExport, writeFirebaseExport } from '../../src/export';
import { adminClient, offlineEmulator } from '../conformance/support';

const scratch = mkdtempSync(path.join(tmpdir(), 'export-cli-'));
const cli = path.join(__dirname, '../../src/cli.ts');
const previousHost = process.env.FIRESTORE_EMULATOR_HOST;
const started: ChildProcessByStdio<null, Readable, Readable>[] = [];
// A test that fails before it stops its emulator must not leave the process running.
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(() => {
  if (previousHost === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
  else process.env.FIRESTORE_EMULATOR_HOST = previousHost;
  rmSync(scratch, { recursive: true, force: true });
});

function run(args: string[]): { child: ChildProcessByStdio<null, Readable, Readable>; output: () => string; exit: Promise<number | null> } {
  // One process (no tsx launcher in between), so that killing it leaves nothing behind.
  const child = spawn(process.execPath, ['--import', 'tsx', cli, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

/** Resolves with the address the emulator printed once it has printed `last` (its banner's last line). */
function listening(emulator: ReturnType<typeof run>, last: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = /export FIRESTORE_EMULATOR_HOST=(\S+)/.exec(emulator.output());
      if (match && last.test(emulator.output())) resolve(match[1]);
    };
    emulator.child.stdout.on('data', check);
    void emulator.exit.then((code) => reject(new Error(`exited (${code}): ${emulator.output()}`)));
  });
}

describe.skipIf(!offlineEmulator)('firestore-emulator --import / --export-on-exit', () => {
  it('imports a directory, and on SIGINT exports the project to another', async () => {
    const seed = path.join(scratch, 'seed');
    writeFirebaseExport(seed, { projectId: 'demo-cli', databaseId: '(default)' }, [{ segments: ['c', 'a'], fields: { n: { integerValue: '1' } } }], Date.now);
    const out = path.join(scratch, 'out');
    const emulator = run(['--import', seed, '--export-on-exit', out, '--project', 'demo-cli']);
    process.env.FIRESTORE_EMULATOR_HOST = await listening(emulator, /imported: .*\n/);
    expect(emulator.output()).toContain(`imported: 1 documents from ${seed}`);
    const admin = adminClient('demo-cli');
    try {
      expect((await admin.db.doc('c/a').get()).data()).toEqual({ n: 1 });
      await admin.db.doc('c/b').set({ n: 2 });
    } finally {
      await admin.close();
    }
    emulator.child.kill('SIGINT');
    expect(await emulator.exit).toBe(0);
    const exported = readExport(path.join(out, 'firestore_export/firestore_export.overall_export_metadata'));
    expect(exported.documents.map((document) => [document.segments.join('/'), document.fields])).toEqual([
      ['c/a', { n: { integerValue: '1' } }],
      ['c/b', { n: { integerValue: '2' } }],
    ]);
  });

  it('refuses to start on an unreadable import, naming the file and record, and without a project to export', async () => {
    const seed = path.join(scratch, 'corrupt');
    writeFirebaseExport(seed, { projectId: 'demo-cli', databaseId: '(default)' }, [{ segments: ['c', 'a'], fields: {} }], Date.now);
    const output = path.join(seed, 'firestore_export/all_namespaces/all_kinds/output-0');
    writeFileSync(output, readFileSync(output).subarray(0, 10));
    const corrupt = run(['--import', seed]);
    expect(await corrupt.exit).toBe(1);
    expect(corrupt.output()).toContain(`${output}: record 0 at byte 0: the file ends inside a`);

    // The metadata file itself, as Google's --seed_from_export takes it: the same refusal.
    const direct = run(['--import', path.join(seed, 'firestore_export/firestore_export.overall_export_metadata')]);
    expect(await direct.exit).toBe(1);
    expect(direct.output()).toContain(`${output}: record 0 at byte 0: the file ends inside a`);

    const noProject = run(['--export-on-exit', scratch]);
    expect(await noProject.exit).toBe(1);
    expect(noProject.output()).toContain('--project: names the project whose (default) database is exported');
  });
});
