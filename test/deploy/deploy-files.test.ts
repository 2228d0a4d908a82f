/**
 * The parts of the deploy rehearsal that need no registry: the workspace-package check, the functions lock cut,
 * the manifest comparison and the indexes schema. The rehearsal end to end (install from the registry,
 * discovery) is `npm run test:deploy` (test/deploy/rehearsal.e2e.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkNoWorkspacePackages, manifestDifferences, projectRoot, type DeployBuild } from '../../scripts/deploy-rehearsal';
import { firestoreIndexesFile } from '../../scripts/firestore-indexes';
import { cutFunctionsLock } from '../../scripts/functions-lock';

const projects: string[] = [];
afterEach(() => {
  for (const dir of projects.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A project folder with the files checkNoWorkspacePackages reads, functions/package.json as given. */
function projectWithFunctionsPackage(functionsPackage: object): string {
  const dir = mkdtempSync(join(tmpdir(), 'leadpulse-deploy-files-'));
  projects.push(dir);
  const write = (path: string, content: object) => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), JSON.stringify(content));
  };
  write('package.json', { name: 'leadpulse', workspaces: ['packages/model', 'functions'] });
  write('packages/model/package.json', { name: '@leadpulse/model' });
  write('functions/package.json', functionsPackage);
  write('firebase.json', {
    functions: [{ source: 'functions', runtime: 'nodejs22' }],
    firestore: { rules: 'firestore.rules', indexes: 'firestore.indexes.json' },
  });
  return dir;
}

describe('functions/package.json names no workspace package', () => {
  it('passes for the repository as it is', () => {
    expect(() => checkNoWorkspacePackages(projectRoot)).not.toThrow();
  });

  it('passes for registry packages in every section', () => {
    const dir = projectWithFunctionsPackage({ name: 'f', dependencies: { zod: '^4.0.0' }, devDependencies: { esbuild: '^0.28.0' } });
    expect(() => checkNoWorkspacePackages(dir)).not.toThrow();
  });

  it.each(['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'])('refuses one in %s, naming it', (section) => {
    const dir = projectWithFunctionsPackage({ name: 'f', dependencies: { zod: '^4.0.0' }, [section]: { '@leadpulse/model': '0.1.0' } });
    expect(() => checkNoWorkspacePackages(dir)).toThrow(`${section}.@leadpulse/model`);
  });
});

describe('the functions lock, cut from the root lock', () => {
  const rootLock = {
    lockfileVersion: 3,
    packages: {
      '': { name: 'leadpulse', workspaces: ['functions'] },
      functions: { name: 'f', version: '1.0.0', dependencies: { a: '^1.0.0' } },
      'node_modules/a': { version: '1.2.0', dependencies: { b: '^2.0.0' }, optionalDependencies: { c: '^1.0.0', gone: '^1.0.0' } },
      'node_modules/b': { version: '2.0.0', dev: true },
      'node_modules/a/node_modules/b': { version: '2.5.0' },
      'node_modules/c': { version: '1.0.0', optional: true },
      'node_modules/unrelated': { version: '9.0.0', dev: true },
      'node_modules/f': { resolved: 'functions', link: true },
    },
  };
  const functionsPackage = { name: 'f', version: '1.0.0', dependencies: { a: '^1.0.0' } };

  it('keeps exactly what the functions reach, where Node resolves it, flags recomputed', () => {
    const cut = cutFunctionsLock(JSON.stringify(rootLock), JSON.stringify(functionsPackage));
    expect(cut).toEqual({
      name: 'f',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'f', version: '1.0.0', dependencies: { a: '^1.0.0' } },
        'node_modules/a': rootLock.packages['node_modules/a'],
        'node_modules/a/node_modules/b': { version: '2.5.0' },
        'node_modules/c': { version: '1.0.0', optional: true },
      },
    });
  });

  it('refuses a dependency on a workspace package', () => {
    const lock = { ...rootLock, packages: { ...rootLock.packages, functions: { ...functionsPackage, dependencies: { a: '^1.0.0', f: '1.0.0' } } } };
    expect(() => cutFunctionsLock(JSON.stringify(lock), JSON.stringify({ ...functionsPackage, dependencies: { a: '^1.0.0', f: '1.0.0' } }))).toThrow(
      'f (needed by functions) is a workspace package, not on the registry',
    );
  });

  it('refuses a root lock that is stale for functions/package.json', () => {
    expect(() => cutFunctionsLock(JSON.stringify(rootLock), JSON.stringify({ ...functionsPackage, dependencies: { a: '^1.1.0' } }))).toThrow(
      'package-lock.json is stale for functions/package.json dependencies',
    );
  });

  it('gives the versions of the root lock for every package of the committed functions lock', () => {
    const root = JSON.parse(readFileSync(join(projectRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    const functions = JSON.parse(readFileSync(join(projectRoot, 'functions', 'package-lock.json'), 'utf8')) as typeof root;
    const locations = Object.keys(functions.packages).filter((location) => location !== '');
    expect(locations.length).toBeGreaterThan(100);
    for (const location of locations) expect([location, functions.packages[location]?.version]).toEqual([location, root.packages[location]?.version]);
  });
});

describe('manifest comparison', () => {
  const endpoint = { platform: 'gcfv2', region: ['us-central1'], timeoutSeconds: 60, callableTrigger: {} };
  const manifest: DeployBuild = { endpoints: { a: endpoint, b: endpoint }, params: [{ name: 'P', type: 'int' }] };

  it('finds nothing between equal manifests', () => {
    expect(manifestDifferences(manifest, structuredClone(manifest))).toEqual([]);
  });

  it('names an endpoint missing from the manifest, one no longer discovered, and each changed option', () => {
    const discovered: DeployBuild = {
      endpoints: { a: { ...endpoint, timeoutSeconds: 540 }, c: endpoint },
      params: [{ name: 'P', type: 'int', default: 3 }],
    };
    expect(manifestDifferences(discovered, manifest)).toEqual([
      'endpoint a.timeoutSeconds: discovered 540, manifest 60',
      'endpoint b: in the manifest, not discovered',
      'endpoint c: discovered, missing from the manifest',
      'param P: discovered {"name":"P","type":"int","default":3}, manifest {"name":"P","type":"int"}',
    ]);
  });

  it('compares params by name, not by the order the modules defining them load; names one added or gone', () => {
    const two: DeployBuild = {
      ...manifest,
      params: [
        { name: 'P', type: 'int' },
        { name: 'Q', type: 'string' },
      ],
    };
    expect(
      manifestDifferences(
        {
          ...two,
          params: [
            { name: 'Q', type: 'string' },
            { name: 'P', type: 'int' },
          ],
        },
        two,
      ),
    ).toEqual([]);
    expect(manifestDifferences(two, manifest)).toEqual(['param Q: discovered, missing from the manifest']);
    expect(manifestDifferences(manifest, two)).toEqual(['param Q: in the manifest, not discovered']);
  });
});

describe('firestore.indexes.json schema', () => {
  const index = {
    collectionGroup: 'messages',
    queryScope: 'COLLECTION',
    fields: [
      { fieldPath: 'contactId', order: 'ASCENDING' },
      { fieldPath: 'tags', arrayConfig: 'CONTAINS' },
    ],
  };
  const override = { collectionGroup: 'members', fieldPath: 'uid', ttl: false, indexes: [{ order: 'ASCENDING', queryScope: 'COLLECTION_GROUP' }] };
  const errorOf = (file: unknown) => {
    const result = firestoreIndexesFile.safeParse(file);
    return result.success ? 'accepted' : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
  };

  it("accepts the repository's file", () => {
    expect(errorOf(JSON.parse(readFileSync(join(projectRoot, 'firestore.indexes.json'), 'utf8')))).toBe('accepted');
  });

  it('accepts composite indexes, vector indexes and field overrides with every documented option', () => {
    const vector = { collectionGroup: 'docs', queryScope: 'COLLECTION', fields: [{ fieldPath: 'embedding', vectorConfig: { dimension: 3, flat: {} } }] };
    const full = { ...index, apiScope: 'ANY_API', density: 'SPARSE_ALL', multikey: false };
    expect(errorOf({ indexes: [index, full, vector], fieldOverrides: [override] })).toBe('accepted');
    expect(errorOf({ indexes: [] })).toBe('accepted');
  });

  it.each([
    ['a missing indexes list', { fieldOverrides: [] }, 'indexes: Invalid input'],
    ['a misspelt query scope', { indexes: [{ ...index, queryScope: 'COLLECTIONS' }] }, 'indexes.0.queryScope: Invalid option'],
    ['an unknown key', { indexes: [{ ...index, queryscope: 'COLLECTION' }] }, 'indexes.0: Unrecognized key: "queryscope"'],
    [
      'a field with neither order nor arrayConfig',
      { indexes: [{ ...index, fields: [{ fieldPath: 'a' }, { fieldPath: 'b', order: 'ASCENDING' }] }] },
      'indexes.0.fields.0: Invalid input',
    ],
    [
      'a one-field composite index',
      { indexes: [{ ...index, fields: [{ fieldPath: 'a', order: 'ASCENDING' }] }] },
      'indexes.0.fields: a composite index needs two fields or more',
    ],
    [
      'an override index with a bad order',
      { indexes: [], fieldOverrides: [{ ...override, indexes: [{ order: 'UP' }] }] },
      'fieldOverrides.0.indexes.0: Invalid input',
    ],
    ['a non-boolean ttl', { indexes: [], fieldOverrides: [{ ...override, ttl: 'yes' }] }, 'fieldOverrides.0.ttl: Invalid input'],
    [
      'a second override of the same field',
      { indexes: [], fieldOverrides: [override, { ...override, indexes: [] }] },
      `fieldOverrides.1: ${override.collectionGroup}.${override.fieldPath} is already configured by fieldOverrides[0]`,
    ],
  ])('refuses %s, naming the field', (_name, file, message) => {
    expect(errorOf(file)).toContain(message);
  });
});
