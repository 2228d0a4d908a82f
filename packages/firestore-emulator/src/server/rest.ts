/**
 * The HTTP/1.1 side of the port: the emulator endpoints `@firebase/rules-unit-testing` and the Firebase CLI call,
 * plus our own extensions `:rulesDecisions` and `:indexes`. Errors use Google's JSON error shape
 * `{ error: { code, message, status } }`.
 */
import { existsSync, statSync } from 'fs';
import type { IncomingMessage, ServerResponse } from 'http';
import { isAbsolute } from 'path';
import { z } from 'zod';
import { documentsForProject, ExportFormatError, readExport, writeExport } from '../export';
import { IndexConfiguration, IndexFileError, RpcError } from '../engine';
import { formatMicros, timestampToMicros } from '../engine/time';
import { compileRules, RulesCompileError } from '../rules';
import { EmulatorState } from './emulator-state';

const MAX_BODY_BYTES = 16 * 1024 * 1024;

const SecurityRulesBody = z.object({
  rules: z.object({
    files: z.array(z.object({ name: z.string().optional(), content: z.string() })).min(1),
  }),
  /** Sent by the Firebase CLI's rules watcher: report compile issues with 200 instead of failing. */
  ignore_errors: z.boolean().optional(),
});

/** Google's emulator takes the snake_case and the camelCase spelling of each key, and refuses any other key. */
const ExportBody = z
  .object({
    database: z.union([z.string(), z.number()]).optional(),
    export_directory: z.string().optional(),
    exportDirectory: z.string().optional(),
    export_name: z.string().nullable().optional(),
    exportName: z.string().nullable().optional(),
  })
  .strict();

const ImportBody = z
  .object({
    database: z.union([z.string(), z.number()]).optional(),
    export_directory: z.string().optional(),
    exportDirectory: z.string().optional(),
  })
  .strict();

const SinceQuery = z.object({ since: z.coerce.number().int().nonnegative().optional() });

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly grpcStatus: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** The ids a route's path names: the named groups of its pattern. */
interface PathIds {
  projectId: string;
  databaseId?: string;
}

type Route = (state: EmulatorState, ids: PathIds, request: IncomingMessage, url: URL) => Promise<unknown>;

const PROJECT_ROUTES: { method: string; pattern: RegExp; run: Route }[] = [
  { method: 'PUT', pattern: /^\/emulator\/v1\/projects\/(?<projectId>[^/:]+):securityRules$/, run: putSecurityRules },
  {
    method: 'DELETE',
    pattern: /^\/emulator\/v1\/projects\/(?<projectId>[^/:]+)\/databases\/(?<databaseId>[^/:]+)\/documents$/,
    run: clearDocuments,
  },
  { method: 'GET', pattern: /^\/emulator\/v1\/projects\/(?<projectId>[^/:]+):ruleCoverage$/, run: getRuleCoverage },
  { method: 'POST', pattern: /^\/emulator\/v1\/projects\/(?<projectId>[^/:]+):export$/, run: exportDatabase },
  { method: 'POST', pattern: /^\/emulator\/v1\/projects\/(?<projectId>[^/:]+):import$/, run: importDatabase },
  { method: 'POST', pattern: /^\/emulator\/v1\/projects\/(?<projectId>[^/:]+)\/databases\/(?<databaseId>[^/:]+):export$/, run: exportDatabase },
  { method: 'GET', pattern: /^\/emulator\/v1\/projects\/(?<projectId>[^/:]+):rulesDecisions$/, run: getRulesDecisions },
  { method: 'DELETE', pattern: /^\/emulator\/v1\/projects\/(?<projectId>[^/:]+):rulesDecisions$/, run: clearRulesDecisions },
  { method: 'PUT', pattern: /^\/emulator\/v1\/projects\/(?<projectId>[^/:]+):indexes$/, run: putIndexes },
  { method: 'GET', pattern: /^\/emulator\/v1\/projects\/(?<projectId>[^/:]+):indexes$/, run: getIndexes },
  { method: 'DELETE', pattern: /^\/emulator\/v1\/projects\/(?<projectId>[^/:]+):indexes$/, run: deleteIndexes },
  { method: 'POST', pattern: /^\/emulator\/v1\/projects\/(?<projectId>[^/:]+):runTtl$/, run: runTtl },
];

export function createRestHandler(state: EmulatorState) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    route(state, request)
      .then((body) => {
        if (typeof body === 'string') send(response, 200, body, 'text/plain; charset=utf-8');
        else send(response, 200, JSON.stringify(body), 'application/json; charset=utf-8');
      })
      .catch((error: unknown) => {
        const failure = error instanceof HttpError ? error : internalError(error);
        const body = { error: { code: failure.status, message: failure.message, status: failure.grpcStatus }, ...failure.extra };
        send(response, failure.status, JSON.stringify(body), 'application/json; charset=utf-8');
      });
  };
}

async function route(state: EmulatorState, request: IncomingMessage): Promise<unknown> {
  const url = new URL(request.url ?? '/', 'http://emulator');
  const path = decodeURIComponent(url.pathname);
  if (path === '/' && request.method === 'GET') return 'Ok';
  for (const candidate of PROJECT_ROUTES) {
    const match = candidate.pattern.exec(path);
    if (match && request.method === candidate.method) return candidate.run(state, match.groups as unknown as PathIds, request, url);
  }
  if (path.startsWith('/emulator/') || path.startsWith('/v1/') || path.startsWith('/v1beta1/')) {
    throw new HttpError(501, 'UNIMPLEMENTED', `${request.method} ${path} is not implemented by the offline Firestore emulator`);
  }
  throw new HttpError(404, 'NOT_FOUND', `${request.method} ${path} is not an endpoint of the offline Firestore emulator`);
}

async function putSecurityRules(state: EmulatorState, { projectId }: PathIds, request: IncomingMessage): Promise<unknown> {
  const parsed = SecurityRulesBody.safeParse(await readJson(request));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HttpError(400, 'INVALID_ARGUMENT', `Invalid securityRules body: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const files = parsed.data.rules.files.map((file, index) => ({ name: file.name ?? defaultFileName(index), content: file.content }));
  try {
    state.loadRules(projectId, compileRules(files));
    return { issues: [] };
  } catch (error) {
    if (!(error instanceof RulesCompileError)) throw error;
    const fileName = files.length === 1 ? files[0].name : undefined;
    const issues = [
      {
        sourcePosition: { fileName, line: error.line, column: error.column },
        description: error.message,
        severity: 'ERROR',
      },
    ];
    // The previous rules stay loaded, as in Google's emulator.
    if (parsed.data.ignore_errors) return { issues };
    const where = `${fileName ?? 'rules'}:${error.line}:${error.column}`;
    throw new HttpError(400, 'INVALID_ARGUMENT', `Compilation error in ${where}: ${error.message}`, { issues });
  }
}

/** Clears one database of the project, as Google's emulator does; the others keep their documents. */
async function clearDocuments(state: EmulatorState, { projectId, databaseId }: PathIds): Promise<unknown> {
  // The route's pattern always captures the database.
  if (databaseId === undefined) throw new HttpError(400, 'INVALID_ARGUMENT', 'Missing database id.');
  state.clearDocuments(projectId, databaseId);
  return {};
}

/**
 * `POST /emulator/v1/projects/{id}:export` with `{database, export_directory, export_name}`, as the Firebase CLI
 * sends it: writes `{export_directory}/{export_name}/` in Google's export format. As in Google's emulator the
 * body's `database` decides what is exported, and the answers and messages are Google's.
 */
async function exportDatabase(state: EmulatorState, _ids: PathIds, request: IncomingMessage): Promise<unknown> {
  const body = await readPayload(request, ExportBody);
  const [projectId, databaseId] = databaseOf(body.database);
  const directory = body.export_directory ?? body.exportDirectory;
  if (!directory || !isAbsolute(directory) || !existsSync(directory) || !statSync(directory).isDirectory()) {
    throw new HttpError(400, 'FAILED_PRECONDITION', 'export_directory must be a directory');
  }
  const name = body.export_name ?? body.exportName ?? `firestore_export_${Math.floor(Date.now() / 1000)}`;
  if (name === '' || name.includes('/') || name.includes('\\') || name === '.' || name === '..') {
    throw new HttpError(500, 'INTERNAL', 'failed to write export');
  }
  const documents = state.database(projectId, databaseId).exportDocuments();
  writeExport(directory, name, { projectId, databaseId }, documents, Date.now);
  return {};
}

/**
 * `POST /emulator/v1/projects/{id}:import` with `{database, export_directory}`, `export_directory` naming an
 * `.overall_export_metadata` file: writes the export's documents into that database, all or nothing.
 */
async function importDatabase(state: EmulatorState, _ids: PathIds, request: IncomingMessage): Promise<unknown> {
  const body = await readPayload(request, ImportBody);
  const [projectId, databaseId] = databaseOf(body.database);
  const metadataFile = body.export_directory ?? body.exportDirectory ?? '';
  try {
    state.database(projectId, databaseId).importDocuments(documentsForProject(readExport(metadataFile), projectId));
  } catch (error) {
    if (error instanceof ExportFormatError || error instanceof RpcError) throw new HttpError(400, 'INVALID_ARGUMENT', error.message);
    throw error;
  }
  return {};
}

/** A JSON body as Google's emulator takes it: none is `{}`; anything else than the schema's object is refused. */
async function readPayload<T extends z.ZodType>(request: IncomingMessage, schema: T): Promise<z.infer<T>> {
  const raw = await readText(request);
  let json: unknown = {};
  if (raw.trim() !== '') {
    try {
      json = JSON.parse(raw);
    } catch {
      json = null;
    }
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new HttpError(400, 'INVALID_ARGUMENT', "Payload isn't valid for request.");
  return parsed.data;
}

/** [projectId, databaseId] of a body's `database`, with Google's messages when it is not a database name. */
function databaseOf(value: string | number | undefined): [string, string] {
  const database = String(value ?? '');
  const match = /^projects\/([^/]+)\/databases\/([^/]+)$/.exec(database);
  if (!match) {
    const message =
      database.endsWith('/') && database.startsWith('projects/')
        ? `Database name "${database}" has invalid trailing "/".`
        : `Database name "${database}" lacks "projects" at index 0.`;
    throw new HttpError(400, 'INVALID_ARGUMENT', message);
  }
  return [match[1], match[2]];
}

async function getRuleCoverage(state: EmulatorState, { projectId }: PathIds): Promise<unknown> {
  const rules = state.rulesOf(projectId);
  if (!rules) throw new HttpError(404, 'NOT_FOUND', `No security rules are loaded for project "${projectId}"`);
  return rules.coverageReport();
}

async function getRulesDecisions(state: EmulatorState, { projectId }: PathIds, _request: IncomingMessage, url: URL): Promise<unknown> {
  const query = SinceQuery.safeParse(Object.fromEntries(url.searchParams));
  if (!query.success) throw new HttpError(400, 'INVALID_ARGUMENT', 'Query parameter "since" must be a non-negative integer');
  return { decisions: state.decisions.list(projectId, query.data.since) };
}

async function clearRulesDecisions(state: EmulatorState, { projectId }: PathIds): Promise<unknown> {
  state.decisions.clear(projectId);
  return {};
}

/** Loads a `firestore.indexes.json` for the project; an invalid one is refused and the previous one stays. */
async function putIndexes(state: EmulatorState, { projectId }: PathIds, request: IncomingMessage): Promise<unknown> {
  const body = await readJson(request);
  try {
    state.loadIndexes(projectId, new IndexConfiguration(body));
  } catch (error) {
    if (error instanceof IndexFileError) throw new HttpError(400, 'INVALID_ARGUMENT', error.message);
    throw error;
  }
  return {};
}

/** The declared indexes no query of the project has used (shared with every project on the start-up file). */
async function getIndexes(state: EmulatorState, { projectId }: PathIds): Promise<unknown> {
  const indexes = state.indexesOf(projectId);
  if (!indexes) throw new HttpError(404, 'NOT_FOUND', `No indexes are enforced for project "${projectId}"`);
  return { unusedIndexes: indexes.unusedIndexes() };
}

/** The project's queries need no declared index any more, as in Google's emulator. */
async function deleteIndexes(state: EmulatorState, { projectId }: PathIds): Promise<unknown> {
  state.loadIndexes(projectId, null);
  return {};
}

const RunTtlBody = z.object({ now: z.iso.datetime({ offset: true }).optional() }).strict();

/**
 * One pass of TTL deletion (our extension; Google's emulator runs no TTL): body `{}` or `{"now": RFC 3339}` (the
 * instant to expire against; default the emulator's clock). Answers `{"cutoff": RFC 3339, "deleted": [names]}`.
 */
async function runTtl(state: EmulatorState, { projectId }: PathIds, request: IncomingMessage): Promise<unknown> {
  const text = await readText(request);
  const parsed = RunTtlBody.safeParse(text.trim() === '' ? {} : await parseJson(text));
  if (!parsed.success)
    throw new HttpError(400, 'INVALID_ARGUMENT', `:runTtl body must be {} or {"now": RFC 3339 timestamp}: ${parsed.error.issues[0].message}`);
  const now = parsed.data.now === undefined ? undefined : Date.parse(parsed.data.now);
  const run = await state.runTtl(projectId, now);
  return { cutoff: formatMicros(timestampToMicros(run.cutoff)), deleted: run.deleted };
}

function defaultFileName(index: number): string {
  return index === 0 ? 'firestore.rules' : `firestore.${index}.rules`;
}

export async function readJson(request: IncomingMessage): Promise<unknown> {
  return parseJson(await readText(request));
}

async function parseJson(text: string): Promise<unknown> {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'INVALID_ARGUMENT', 'Request body is not valid JSON');
  }
}

export async function readText(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'INVALID_ARGUMENT', `Request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function internalError(error: unknown): HttpError {
  console.error('[firestore-emulator] internal error:', error);
  const message = error instanceof Error ? error.message : String(error);
  return new HttpError(500, 'INTERNAL', `Internal error in the offline emulator: ${message}`);
}

function send(response: ServerResponse, status: number, body: string, contentType: string): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
