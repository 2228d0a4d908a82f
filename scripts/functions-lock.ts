/**
 * `functions/package-lock.json`: the lock Cloud Build honours for the functions (its Node.js buildpack runs
 * `npm ci` when the uploaded folder has one), cut from the root lock so production resolves every package to
 * the version the tests ran against.
 *
 * `npm run functions:lock` writes it; `npm run functions:lock -- --check` fails when it no longer matches the
 * root lock (the deploy rehearsal runs the check). npm itself writes the final file from the cut, so its shape
 * is npm's own.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';

const root = join(__dirname, '..');
export const functionsDir = join(root, 'functions');
const functionsWorkspace = 'functions';

const dependencyMap = z.record(z.string(), z.string());
// Only what the cut reads; every other field of an entry is copied as npm wrote it.
const lockEntry = z.looseObject({
  version: z.string().optional(),
  link: z.boolean().optional(),
  dependencies: dependencyMap.optional(),
  optionalDependencies: dependencyMap.optional(),
  peerDependencies: dependencyMap.optional(),
  peerDependenciesMeta: z.record(z.string(), z.looseObject({ optional: z.boolean().optional() })).optional(),
});
type LockEntry = z.infer<typeof lockEntry>;
const rootLock = z.looseObject({
  lockfileVersion: z.literal(3),
  packages: z.record(z.string(), lockEntry),
});
const functionsManifest = z.looseObject({
  name: z.string(),
  version: z.string(),
  dependencies: dependencyMap.optional(),
});

/** Where Node looks for `name` required from the package installed at `location`, nearest first. */
function lookupLocations(location: string, name: string): string[] {
  const candidates: string[] = [];
  let current: string | undefined = location;
  while (current !== undefined) {
    candidates.push(current === '' ? `node_modules/${name}` : `${current}/node_modules/${name}`);
    const nested = current.lastIndexOf('/node_modules/');
    current = current === '' ? undefined : nested >= 0 ? current.slice(0, nested) : '';
  }
  return candidates;
}

interface Edge {
  name: string;
  optional: boolean;
}
function edgesOf(entry: LockEntry): Edge[] {
  const optionalPeers = new Set(
    Object.entries(entry.peerDependenciesMeta ?? {})
      .filter(([, meta]) => meta.optional)
      .map(([name]) => name),
  );
  return [
    ...Object.keys(entry.dependencies ?? {}).map((name) => ({ name, optional: false })),
    ...Object.keys(entry.optionalDependencies ?? {}).map((name) => ({ name, optional: true })),
    // npm installs required peers; an optional peer only when something else brings it.
    ...Object.keys(entry.peerDependencies ?? {})
      .filter((name) => !optionalPeers.has(name))
      .map((name) => ({ name, optional: false })),
  ];
}

/**
 * The production tree of the functions workspace, out of the root lock: every package reachable from the
 * functions' `dependencies`, at the location it will have once `functions/` is the root of its own install.
 */
export function cutFunctionsLock(rootLockText: string, functionsPackageText: string): object {
  const lock = rootLock.parse(JSON.parse(rootLockText));
  const manifest = functionsManifest.parse(JSON.parse(functionsPackageText));
  const workspaceEntry = lock.packages[functionsWorkspace];
  if (workspaceEntry === undefined) throw new Error(`package-lock.json has no "${functionsWorkspace}" workspace: run npm install`);
  const declared = JSON.stringify(manifest.dependencies ?? {});
  if (JSON.stringify(workspaceEntry.dependencies ?? {}) !== declared) {
    throw new Error('package-lock.json is stale for functions/package.json dependencies: run npm install');
  }

  const required = new Set<string>();
  const reached = new Map<string, string>(); // location in the functions' own install -> location in the root lock
  const visit = (from: string, edge: Edge, requiredPath: boolean, requiredBy: string): void => {
    const location = lookupLocations(from, edge.name).find((candidate) => lock.packages[candidate] !== undefined);
    if (location === undefined) {
      if (edge.optional) return; // an optional dependency npm skipped on this platform
      throw new Error(`package-lock.json has no ${edge.name} for ${requiredBy}: run npm install`);
    }
    const entry = lock.packages[location];
    if (entry?.link) throw new Error(`${edge.name} (needed by ${requiredBy}) is a workspace package, not on the registry`);
    const target = location.startsWith(`${functionsWorkspace}/`) ? location.slice(functionsWorkspace.length + 1) : location;
    const previous = reached.get(target);
    if (previous !== undefined && previous !== location) {
      throw new Error(`${target} is both ${previous} and ${location} in the root lock: the functions' tree cannot be cut flat`);
    }
    const isRequired = requiredPath && !edge.optional;
    const seen = previous !== undefined && (required.has(target) || !isRequired);
    reached.set(target, location);
    if (isRequired) required.add(target);
    if (seen || entry === undefined) return;
    for (const next of edgesOf(entry)) visit(location, next, isRequired, edge.name);
  };
  for (const name of Object.keys(manifest.dependencies ?? {})) visit(functionsWorkspace, { name, optional: false }, true, 'functions');

  const packages: Record<string, unknown> = {
    '': { name: manifest.name, version: manifest.version, dependencies: manifest.dependencies },
  };
  for (const [target, location] of [...reached].sort(([a], [b]) => a.localeCompare(b, 'en'))) {
    const { dev: _dev, devOptional: _devOptional, optional: _optional, ...entry } = lock.packages[location] ?? {};
    packages[target] = required.has(target) ? entry : { ...entry, optional: true };
  }
  return { name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages };
}

/** The lock npm writes for functions/ from the cut (no download: every entry is already resolved). */
export function buildFunctionsLock(): string {
  const cut = cutFunctionsLock(readFileSync(join(root, 'package-lock.json'), 'utf8'), readFileSync(join(functionsDir, 'package.json'), 'utf8'));
  const work = mkdtempSync(join(tmpdir(), 'leadpulse-functions-lock-'));
  try {
    copyFileSync(join(functionsDir, 'package.json'), join(work, 'package.json'));
    writeFileSync(join(work, 'package-lock.json'), JSON.stringify(cut, null, 2));
    execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: work,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    return readFileSync(join(work, 'package-lock.json'), 'utf8');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const lockPath = join(functionsDir, 'package-lock.json');
export const staleLockMessage = 'functions/package-lock.json does not match the root lock: run `npm run functions:lock` and commit it';

const lockedPackages = z.looseObject({
  packages: z.record(
    z.string(),
    z.looseObject({
      version: z.string().optional(),
      resolved: z.string().optional(),
      integrity: z.string().optional(),
      optional: z.boolean().optional(),
      dependencies: dependencyMap.optional(),
    }),
  ),
});
/** What a lock pins, location by location: not its layout, which another npm version may write differently. */
function pinned(lockText: string): unknown[] {
  return Object.entries(lockedPackages.parse(JSON.parse(lockText)).packages).map(([location, entry]) => [
    location,
    entry.version,
    entry.resolved,
    entry.integrity,
    entry.optional ?? false,
    entry.dependencies,
  ]);
}

/** Whether the committed functions/package-lock.json pins what the root lock gives. */
export function functionsLockIsCurrent(): boolean {
  return existsSync(lockPath) && isDeepStrictEqual(pinned(readFileSync(lockPath, 'utf8')), pinned(buildFunctionsLock()));
}

function main(): void {
  if (process.argv.includes('--check')) {
    if (!functionsLockIsCurrent()) {
      console.error(staleLockMessage);
      process.exitCode = 1;
      return;
    }
    console.log('functions/package-lock.json matches the root lock');
    return;
  }
  writeFileSync(lockPath, buildFunctionsLock());
  console.log('functions/package-lock.json written');
}

if (require.main === module) main();
