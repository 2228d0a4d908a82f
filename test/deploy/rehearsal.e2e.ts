/**
 * The deploy rehearsal itself (`npm run test:deploy`, registry needed): it passes for the repository as it is,
 * and fails on what would fail or change a real deploy: a devDependency Cloud Build cannot fetch, and an
 * endpoint the checked-in manifest does not list.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { installProduction, manifestFile, rehearseDeploy, runPredeploy, stageUpload } from '../../scripts/deploy-rehearsal';

const folders: string[] = [];
afterEach(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The upload as firebase deploy would pack it, with a devDependency that is not on the registry added. */
async function stagedWithUnpublishedDevDependency(): Promise<string> {
  runPredeploy('demo-leadpulse');
  const staged = await stageUpload();
  folders.push(staged);
  const packagePath = join(staged, 'package.json');
  const manifest = JSON.parse(readFileSync(packagePath, 'utf8')) as Record<string, unknown>;
  writeFileSync(packagePath, JSON.stringify({ ...manifest, devDependencies: { '@leadpulse/model': '0.1.0' } }, null, 2));
  return staged;
}

describe('the production install of the staged upload', () => {
  it('fails on a devDependency that is not on the registry, with no lock file (npm install --omit=dev): E404 naming it', async () => {
    const staged = await stagedWithUnpublishedDevDependency();
    rmSync(join(staged, 'package-lock.json'));
    expect(() => installProduction(staged)).toThrow(/^npm install --omit=dev failed[\s\S]*E404[\s\S]*@leadpulse\/model@0\.1\.0/);
  });

  it('fails on the same devDependency with the lock file (npm ci --omit=dev): E404 naming it', async () => {
    const staged = await stagedWithUnpublishedDevDependency();
    expect(() => installProduction(staged)).toThrow(/^npm ci --omit=dev failed[\s\S]*E404[\s\S]*@leadpulse\/model@0\.1\.0/);
  });
});

describe('the whole rehearsal', () => {
  it('passes for the repository as it is, every endpoint matching the manifest', async () => {
    const lines: string[] = [];
    await rehearseDeploy({ log: (line) => lines.push(line) });
    expect(lines.at(-1)).toMatch(/ok {2}\d+ endpoints match/);
    expect(lines.some((line) => line.includes('production install in isolation'))).toBe(true);
  });

  it('fails naming an endpoint the manifest does not list, and changes nothing', async () => {
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { endpoints: Record<string, unknown> };
    const { exportData: _removed, ...endpoints } = manifest.endpoints;
    const folder = mkdtempSync(join(tmpdir(), 'leadpulse-manifest-'));
    folders.push(folder);
    const manifestPath = join(folder, 'functions-manifest.json');
    const written = JSON.stringify({ ...manifest, endpoints }, null, 2);
    writeFileSync(manifestPath, written);

    await expect(rehearseDeploy({ manifestPath, log: () => undefined })).rejects.toThrow(
      /the functions differ[\s\S]*\n {2}endpoint exportData: discovered, missing from the manifest$/,
    );
    expect(readFileSync(manifestPath, 'utf8')).toBe(written);
  });
});
