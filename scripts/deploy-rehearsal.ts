/**
 * `npm run deploy:rehearse`: every step of `firebase deploy` that runs without a Google project.
 *
 * 1. functions/package.json names no workspace package, and functions/package-lock.json matches the root lock;
 * 2. the predeploy hooks of firebase.json (the esbuild bundle), run as the CLI runs them;
 * 3. the upload, packaged by firebase-tools' own code (so its `ignore` handling is the CLI's), unpacked in a
 *    temporary folder outside the workspace;
 * 4. the production install there, as Cloud Build does it (`npm ci --omit=dev`, from the registry alone);
 * 5. firebase-functions' own discovery (its `firebase-functions` bin writing the manifest the CLI reads), which
 *    loads the bundle, compared with deploy/functions-manifest.json;
 * 6. firestore.rules compiled by our rules compiler; firestore.indexes.json checked against its schema.
 *
 * `npm run deploy:rehearse -- --update` rewrites deploy/functions-manifest.json from what discovery found.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { compileRules } from '../packages/firestore-emulator/src/rules';
import { functionsLockIsCurrent, staleLockMessage } from './functions-lock';
import { firestoreIndexesFile } from './firestore-indexes';

export const projectRoot = join(__dirname, '..');
export const manifestFile = join(projectRoot, 'deploy', 'functions-manifest.json');
const DISCOVERY_TIMEOUT_MS = 60_000;

const functionsConfig = z.looseObject({
  source: z.string(),
  codebase: z.string().optional(),
  runtime: z.string(),
  ignore: z.array(z.string()).optional(),
  predeploy: z.array(z.string()).optional(),
});
export type FunctionsConfig = z.infer<typeof functionsConfig>;
const firebaseJson = z.looseObject({
  functions: z.array(functionsConfig).length(1, 'one functions codebase'),
  firestore: z.looseObject({ rules: z.string(), indexes: z.string() }),
});
const firebaserc = z.looseObject({ projects: z.looseObject({ default: z.string() }) });
const packageJson = z.looseObject({
  name: z.string(),
  workspaces: z.array(z.string()).optional(),
  dependencies: z.record(z.string(), z.string()).optional(),
  devDependencies: z.record(z.string(), z.string()).optional(),
  optionalDependencies: z.record(z.string(), z.string()).optional(),
  peerDependencies: z.record(z.string(), z.string()).optional(),
});

// firebase-tools ships no types; this is the signature of lib/deploy/functions/prepareFunctionsUpload.js.
type PrepareFunctionsUpload = (
  projectDir: string,
  sourceDir: string,
  config: FunctionsConfig,
  additionalSources: string[],
  runtimeConfig: undefined,
  options: { exportType: 'tar.gz' },
) => Promise<{ pathToSource: string } | undefined>;
const firebaseToolsUpload = z.object({
  prepareFunctionsUpload: z.custom<PrepareFunctionsUpload>((value) => typeof value === 'function'),
});

function readJson<T>(file: string, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export function readFunctionsConfig(projectDir = projectRoot): FunctionsConfig {
  const [config] = readJson(join(projectDir, 'firebase.json'), firebaseJson).functions;
  if (config === undefined) throw new Error('firebase.json: no functions codebase');
  return config;
}

/** Workspace packages are never published: none may appear in any dependency section of the upload. */
export function checkNoWorkspacePackages(projectDir = projectRoot): void {
  const root = readJson(join(projectDir, 'package.json'), packageJson);
  const workspaceNames = new Set((root.workspaces ?? []).map((dir) => readJson(join(projectDir, dir, 'package.json'), packageJson).name));
  const functionsPackage = readJson(join(projectDir, readFunctionsConfig(projectDir).source, 'package.json'), packageJson);
  const sections = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;
  const offending = sections.flatMap((section) =>
    Object.keys(functionsPackage[section] ?? {})
      .filter((name) => workspaceNames.has(name))
      .map((name) => `${section}.${name}`),
  );
  if (offending.length > 0) {
    throw new Error(`functions/package.json names workspace packages, which Cloud Build cannot install: ${offending.join(', ')}`);
  }
}

export function checkFunctionsLock(): void {
  if (!functionsLockIsCurrent()) throw new Error(staleLockMessage);
}

/** What a failed execFileSync printed (its error carries both streams when they were piped). */
function commandOutput(error: unknown): string {
  const streams = z.object({ stdout: z.string(), stderr: z.string() }).safeParse(error);
  return streams.success ? `${streams.data.stdout}${streams.data.stderr}` : String(error);
}

/** The predeploy hooks, in a shell with the variables the CLI sets (firebase-tools lib/deploy/lifecycleHooks.js). */
export function runPredeploy(projectId: string, projectDir = projectRoot): void {
  const config = readFunctionsConfig(projectDir);
  for (const command of config.predeploy ?? []) {
    try {
      execFileSync('sh', ['-c', command], {
        cwd: projectDir,
        env: { ...process.env, GCLOUD_PROJECT: projectId, PROJECT_DIR: projectDir, RESOURCE_DIR: join(projectDir, config.source) },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      throw new Error(`predeploy \`${command}\` failed:\n${commandOutput(error)}`, { cause: error });
    }
  }
}

/** What `firebase deploy` uploads for the functions, unpacked into a new temporary folder. */
export async function stageUpload(projectDir = projectRoot): Promise<string> {
  const config = readFunctionsConfig(projectDir);
  const { prepareFunctionsUpload } = firebaseToolsUpload.parse(createRequire(__filename)('firebase-tools/lib/deploy/functions/prepareFunctionsUpload'));
  // The CLI appends its own ignores to the config's list: give it a copy.
  const packaged = await prepareFunctionsUpload(projectDir, join(projectDir, config.source), { ...config, ignore: [...(config.ignore ?? [])] }, [], undefined, {
    exportType: 'tar.gz',
  });
  if (packaged === undefined) throw new Error('firebase-tools packaged nothing');
  const staged = mkdtempSync(join(tmpdir(), 'leadpulse-deploy-'));
  try {
    execFileSync('tar', ['-xzf', packaged.pathToSource, '-C', staged]);
    return staged;
  } catch (error) {
    rmSync(staged, { recursive: true, force: true });
    throw error;
  } finally {
    rmSync(packaged.pathToSource, { force: true });
  }
}

/** Cloud Build's install: `npm ci` when the upload has a lock file, `npm install` otherwise; never devDependencies. */
export function installProduction(stagedDir: string): void {
  const command = existsSync(join(stagedDir, 'package-lock.json')) ? 'ci' : 'install';
  try {
    execFileSync('npm', [command, '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: stagedDir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    throw new Error(`npm ${command} --omit=dev failed in the staged upload:\n${commandOutput(error)}`, { cause: error });
  }
}

/** Keys sorted at every level, so the checked-in manifest diffs line by line in review. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, inner]) => [key, sortKeys(inner)]),
  );
}

const deployBuild = z.looseObject({
  endpoints: z.record(z.string(), z.record(z.string(), z.unknown())),
  params: z.array(z.looseObject({ name: z.string(), type: z.string() })).optional(),
});
export type DeployBuild = z.infer<typeof deployBuild>;

/** The checked-in manifest (deploy/functions-manifest.json, or another file a test names). */
export function readDeployManifest(file = manifestFile): DeployBuild {
  return readJson(file, deployBuild);
}

// firebase-tools' parse of the discovered manifest into the Build it deploys (validation, defaults such as
// the runtime and the region placeholder it resolves at deploy), and the default region it passes.
type YamlToBuild = (yaml: unknown, project: string, region: string, runtime: string) => unknown;
const firebaseToolsDiscovery = z.object({ yamlToBuild: z.custom<YamlToBuild>((value) => typeof value === 'function') });
const firebaseToolsApi = z.object({ functionsDefaultRegion: z.custom<() => string>((value) => typeof value === 'function') });

/**
 * What the CLI deploys: the manifest firebase-functions' bin writes with FUNCTIONS_MANIFEST_OUTPUT_PATH, spawned
 * with the environment the CLI gives it (firebase-tools lib/deploy/functions/runtimes/node/index.js), read into
 * a Build by the CLI's own parser.
 */
export async function discoverEndpoints(stagedDir: string, projectId: string, runtime: string): Promise<DeployBuild> {
  const bin = join(stagedDir, 'node_modules', '.bin', 'firebase-functions');
  const outputDir = mkdtempSync(join(tmpdir(), 'leadpulse-discovery-'));
  const outputPath = join(outputDir, 'functions.yaml');
  try {
    const child = spawn(bin, [stagedDir], {
      cwd: stagedDir,
      env: {
        FUNCTIONS_CONTROL_API: 'true',
        FUNCTIONS_MANIFEST_OUTPUT_PATH: outputPath,
        HOME: process.env.HOME,
        PATH: process.env.PATH,
        NODE_ENV: process.env.NODE_ENV,
        FIREBASE_CONFIG: JSON.stringify({ projectId }),
        GCLOUD_PROJECT: projectId,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: DISCOVERY_TIMEOUT_MS,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0 || !existsSync(outputPath)) throw new Error(`firebase-functions discovery failed (exit ${String(code)}):\n${output}`);
    const load = createRequire(__filename);
    const { yamlToBuild } = firebaseToolsDiscovery.parse(load('firebase-tools/lib/deploy/functions/runtimes/discovery'));
    const { functionsDefaultRegion } = firebaseToolsApi.parse(load('firebase-tools/lib/api'));
    // The file is JSON (YAML's subset), as the bin writes it.
    const wire: unknown = JSON.parse(readFileSync(outputPath, 'utf8'));
    return deployBuild.parse(sortKeys(yamlToBuild(wire, projectId, functionsDefaultRegion(), runtime)));
  } finally {
    rmSync(outputDir, { recursive: true, force: true });
  }
}

/** Every difference between the discovered manifest and the checked-in one, one line each. */
export function manifestDifferences(discovered: DeployBuild, expected: DeployBuild): string[] {
  const differences: string[] = [];
  const names = [...new Set([...Object.keys(discovered.endpoints), ...Object.keys(expected.endpoints)])].sort();
  for (const name of names) {
    const found = discovered.endpoints[name];
    const declared = expected.endpoints[name];
    if (declared === undefined) differences.push(`endpoint ${name}: discovered, missing from the manifest`);
    else if (found === undefined) differences.push(`endpoint ${name}: in the manifest, not discovered`);
    else {
      const keys = [...new Set([...Object.keys(found), ...Object.keys(declared)])].sort();
      for (const key of keys) {
        if (!isDeepStrictEqual(found[key], declared[key])) {
          differences.push(`endpoint ${name}.${key}: discovered ${JSON.stringify(found[key])}, manifest ${JSON.stringify(declared[key])}`);
        }
      }
    }
  }
  // Params by name: their order in the build is the order the modules defining them load, which means nothing.
  const foundParams = paramsByName(discovered.params);
  const declaredParams = paramsByName(expected.params);
  for (const name of [...new Set([...foundParams.keys(), ...declaredParams.keys()])].sort()) {
    const found = foundParams.get(name);
    const declared = declaredParams.get(name);
    if (declared === undefined) differences.push(`param ${name}: discovered, missing from the manifest`);
    else if (found === undefined) differences.push(`param ${name}: in the manifest, not discovered`);
    else if (!isDeepStrictEqual(found, declared)) differences.push(`param ${name}: discovered ${JSON.stringify(found)}, manifest ${JSON.stringify(declared)}`);
  }
  const { endpoints: _found, params: _foundParams, ...discoveredRest } = discovered;
  const { endpoints: _declared, params: _declaredParams, ...expectedRest } = expected;
  for (const key of [...new Set([...Object.keys(discoveredRest), ...Object.keys(expectedRest)])].sort()) {
    if (!isDeepStrictEqual(discoveredRest[key], expectedRest[key])) {
      differences.push(`${key}: discovered ${JSON.stringify(discoveredRest[key])}, manifest ${JSON.stringify(expectedRest[key])}`);
    }
  }
  return differences;
}

export function formatManifest(manifest: DeployBuild): string {
  const params = manifest.params && [...paramsByName(manifest.params).values()];
  return `${JSON.stringify(sortKeys({ ...manifest, ...(params ? { params } : {}) }), null, 2)}\n`;
}

/** The build's params keyed by name, in name order. */
function paramsByName(params: DeployBuild['params']): Map<string, Record<string, unknown>> {
  return new Map((params ?? []).map((param) => [param.name, param] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** firestore.rules through our compiler; firestore.indexes.json through its schema. */
export function checkFirestoreFiles(projectDir = projectRoot): void {
  const { firestore } = readJson(join(projectDir, 'firebase.json'), firebaseJson);
  const rulesPath = join(projectDir, firestore.rules);
  compileRules([{ name: firestore.rules, content: readFileSync(rulesPath, 'utf8') }], { coverage: false });
  readJson(join(projectDir, firestore.indexes), firestoreIndexesFile);
}

export interface RehearsalOptions {
  manifestPath?: string;
  /** Write the discovered manifest instead of comparing with it. */
  update?: boolean;
  log?: (line: string) => void;
}

export async function rehearseDeploy(options: RehearsalOptions = {}): Promise<void> {
  const manifestPath = options.manifestPath ?? manifestFile;
  const log = options.log ?? ((line: string) => console.log(line));
  const step = async <T>(name: string, run: () => T | Promise<T>): Promise<T> => {
    const started = Date.now();
    const result = await run();
    log(`  ok  ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return result;
  };
  const projectId = readJson(join(projectRoot, '.firebaserc'), firebaserc).projects.default;

  await step('functions/package.json names no workspace package', () => checkNoWorkspacePackages());
  await step('functions/package-lock.json matches the root lock', () => checkFunctionsLock());
  await step('firestore.rules compiles, firestore.indexes.json is well-formed', () => checkFirestoreFiles());
  await step('predeploy (build)', () => runPredeploy(projectId));
  const staged = await step('upload staged as firebase-tools packs it', () => stageUpload());
  try {
    await step('production install in isolation (npm ci --omit=dev)', () => installProduction(staged));
    const discovered = await step('endpoint discovery (firebase-functions)', () => discoverEndpoints(staged, projectId, readFunctionsConfig().runtime));
    if (options.update) {
      mkdirSync(join(manifestPath, '..'), { recursive: true });
      writeFileSync(manifestPath, formatManifest(discovered));
      log(`  wrote ${manifestPath} (${Object.keys(discovered.endpoints).length} endpoints)`);
      return;
    }
    if (!existsSync(manifestPath)) throw new Error(`${manifestPath} is missing: run npm run deploy:rehearse -- --update`);
    const differences = manifestDifferences(discovered, readDeployManifest(manifestPath));
    if (differences.length > 0) {
      throw new Error(
        `the functions differ from ${manifestPath} (review, then npm run deploy:rehearse -- --update):\n${differences.map((line) => `  ${line}`).join('\n')}`,
      );
    }
    log(`  ok  ${Object.keys(discovered.endpoints).length} endpoints match ${manifestPath}`);
  } finally {
    rmSync(staged, { recursive: true, force: true });
  }
}

if (require.main === module) {
  rehearseDeploy({ update: process.argv.includes('--update') }).then(
    () => console.log('deploy rehearsal passed'),
    (error: unknown) => {
      console.error(`deploy rehearsal failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}
