/**
 * The Firestore REST API (`/v1/projects/{p}/databases/{d}/documents...`) in its JSON mapping: what the web SDK's
 * browser build calls for single requests (commit, batchGet, runQuery, runAggregationQuery) and what REST clients
 * call (get, list, create, patch, delete, beginTransaction, rollback, listCollectionIds, batchWrite).
 *
 * A thin adapter: the routes are the `google.api.http` annotations of the published service descriptor, mapped as
 * Google's HTTP transcoding maps them (path variables and the body into the request message, the other query
 * parameters into the remaining fields), and each request runs the same RPC table as gRPC (rpc-methods.ts).
 * Errors use Google's JSON shape `{ error: { code, message, status } }` with the HTTP status of the code.
 */
import type { IncomingMessage, ServerResponse } from 'http';
import * as protobuf from 'protobufjs';
import { Code, RpcError } from '../engine/api';
import { callerFromAuthorization } from './auth';
import { EmulatorState } from './emulator-state';
import { fromProtoJson, toProtoJson } from './proto-json';
import { firestoreService, messageType } from './protobuf';
import { HttpError, readJson } from './rest';
import { isRpcName, rpcMethods, RpcMethod, unimplemented } from './rpc-methods';

interface HttpRule {
  get?: string;
  post?: string;
  patch?: string;
  delete?: string;
  put?: string;
  body?: string;
  additional_bindings?: HttpRule;
}

interface Route {
  rpc: string;
  verb: string;
  /** Matches the raw (still percent-encoded) path; one capture group per variable, in order. */
  pattern: RegExp;
  variables: string[][];
  /** '*': the whole body is the request; a field name: the body is that field; undefined: no body. */
  body: string | undefined;
  requestType: string;
  responseType: string;
}

/** Query parameters every Google API accepts that say nothing about the request message. */
const SYSTEM_PARAMETERS = new Set(['key', 'prettyPrint', 'quotaUser']);

const HTTP_STATUS: Record<number, number> = {
  [Code.OK]: 200,
  [Code.CANCELLED]: 499,
  [Code.UNKNOWN]: 500,
  [Code.INVALID_ARGUMENT]: 400,
  [Code.DEADLINE_EXCEEDED]: 504,
  [Code.NOT_FOUND]: 404,
  [Code.ALREADY_EXISTS]: 409,
  [Code.PERMISSION_DENIED]: 403,
  [Code.RESOURCE_EXHAUSTED]: 429,
  [Code.FAILED_PRECONDITION]: 400,
  [Code.ABORTED]: 409,
  [Code.OUT_OF_RANGE]: 400,
  [Code.UNIMPLEMENTED]: 501,
  [Code.INTERNAL]: 500,
  [Code.UNAVAILABLE]: 503,
  [Code.UNAUTHENTICATED]: 401,
};

/** Brackets a variable's placeholder in a path template: NUL occurs in no template, and escapeRegExp keeps it. */
const PLACEHOLDER_MARK = '\u0000';

const routes = buildRoutes();

/** Whether the REST adapter owns this path (everything under /v1/). */
export function isFirestoreRestPath(path: string): boolean {
  return path.startsWith('/v1/');
}

export async function handleFirestoreRest(state: EmulatorState, request: IncomingMessage, response: ServerResponse): Promise<void> {
  try {
    const url = new URL(request.url ?? '/', 'http://emulator');
    const { route, values } = findRoute(request.method ?? 'GET', url.pathname);
    const caller = callerFromAuthorization(request.headers.authorization);
    const message = await buildRequest(route, values, url.searchParams, request);
    if (!isRpcName(route.rpc)) throw unimplemented(route.rpc);
    const method: RpcMethod<object> = rpcMethods[route.rpc];
    const result = await method.run(state, message, caller);
    const body = method.streaming
      ? (result as object[]).map((item) => toProtoJson(route.responseType, item))
      : toProtoJson(route.responseType, result as object);
    sendJson(response, 200, body);
  } catch (error) {
    sendJson(response, ...errorBody(error));
  }
}

/** Google's JSON error body for an RpcError (or the emulator's own failure). */
export function errorBody(error: unknown): [number, { error: { code: number; message: string; status: string } }] {
  if (error instanceof HttpError) {
    return [error.status, { error: { code: error.status, message: error.message, status: error.grpcStatus } }];
  }
  const failure =
    error instanceof RpcError
      ? error
      : new RpcError(Code.INTERNAL, `Internal error in the offline emulator: ${error instanceof Error ? error.message : String(error)}`);
  if (!(error instanceof RpcError)) console.error('[firestore-emulator] internal error:', error);
  const status = HTTP_STATUS[failure.code] ?? 500;
  return [status, { error: { code: status, message: failure.message, status: Code[failure.code] } }];
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

// ---- routing ----------------------------------------------------------------------------------------------

function buildRoutes(): Route[] {
  const built: Route[] = [];
  for (const method of firestoreService.methodsArray) {
    const rules = (method.parsedOptions ?? []) as Record<string, HttpRule>[];
    for (const options of rules) {
      let rule: HttpRule | undefined = options['(google.api.http)'];
      while (rule) {
        for (const verb of ['get', 'post', 'patch', 'delete', 'put'] as const) {
          const template = rule[verb];
          if (template) built.push(compileRoute(method, verb.toUpperCase(), template, rule.body));
        }
        rule = rule.additional_bindings;
      }
    }
  }
  return built;
}

function compileRoute(method: protobuf.Method, verb: string, template: string, body: string | undefined): Route {
  const variables: string[][] = [];
  const captures: string[] = [];
  const [path, customVerb] = splitVerb(template);
  // Variables become placeholders first so that only the literal parts of the template are escaped.
  const withPlaceholders = path.replace(/\{([^}=]+)(?:=([^}]+))?\}/g, (_, field: string, pattern: string | undefined) => {
    variables.push(field.split('.').map(camelCase));
    captures.push(`(${segmentsPattern(pattern ?? '*')})`);
    return `${PLACEHOLDER_MARK}${captures.length - 1}${PLACEHOLDER_MARK}`;
  });
  const placeholder = new RegExp(`${PLACEHOLDER_MARK}(\\d+)${PLACEHOLDER_MARK}`, 'g');
  const literal = escapeRegExp(withPlaceholders).replace(placeholder, (_, index: string) => captures[Number(index)]);
  const suffix = customVerb ? escapeRegExp(`:${customVerb}`) : '';
  method.resolve();
  const { resolvedRequestType, resolvedResponseType } = method;
  if (!resolvedRequestType || !resolvedResponseType) throw new Error(`the descriptor of ${method.name} names unknown message types`);
  return {
    rpc: method.name,
    verb,
    pattern: new RegExp(`^${literal}${suffix}$`),
    variables,
    body,
    requestType: resolvedRequestType.fullName.slice(1),
    responseType: resolvedResponseType.fullName.slice(1),
  };
}

function splitVerb(template: string): [string, string | undefined] {
  const lastSegment = template.slice(template.lastIndexOf('/'));
  const colon = lastSegment.lastIndexOf(':');
  if (colon < 0 || lastSegment.includes('}')) return [template, undefined];
  return [template.slice(0, template.length - lastSegment.length + colon), lastSegment.slice(colon + 1)];
}

/** `*` is one segment, `**` any number of them (zero included), as in google.api.http path templates. */
function segmentsPattern(pattern: string): string {
  return pattern
    .split('/')
    .map((segment, index) => {
      const slash = index === 0 ? '' : '/';
      if (segment === '**') return index === 0 ? '[^/:]+(?:/[^/:]+)*' : '(?:/[^/:]+)*';
      if (segment === '*') return `${slash}[^/:]+`;
      return `${slash}${escapeRegExp(segment)}`;
    })
    .join('');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * The route for a request. GET on `.../documents/{path}` is a document (GetDocument) when the path has an even
 * number of segments and a collection (ListDocuments) when odd: the two templates overlap and this is how Firestore
 * tells a document name from a collection.
 */
function findRoute(verb: string, rawPath: string): { route: Route; values: string[] } {
  const documentsPath = /\/documents\/(.+)$/.exec(rawPath.replace(/:[A-Za-z]+$/, ''))?.[1];
  const segments = documentsPath ? documentsPath.split('/').length : 0;
  let pathMatched = false;
  for (const route of routes) {
    const match = route.pattern.exec(rawPath);
    if (!match) continue;
    pathMatched = true;
    if (route.verb !== verb) continue;
    if (route.rpc === 'GetDocument' && segments % 2 !== 0) continue;
    if (route.rpc === 'ListDocuments' && segments % 2 !== 1) continue;
    return { route, values: match.slice(1).map((value) => decodeURIComponent(value)) };
  }
  if (pathMatched) throw new HttpError(405, 'INVALID_ARGUMENT', `${verb} is not allowed on ${rawPath}`);
  throw new HttpError(404, 'NOT_FOUND', `${verb} ${rawPath} is not a Firestore REST endpoint (the offline emulator serves google.firestore.v1)`);
}

// ---- the request message ----------------------------------------------------------------------------------

async function buildRequest(route: Route, values: string[], query: URLSearchParams, request: IncomingMessage): Promise<object> {
  const json: Record<string, unknown> = {};
  if (route.body !== undefined) {
    const body = await readBody(request);
    if (route.body === '*') Object.assign(json, body);
    else json[camelCase(route.body)] = body;
  }
  const type = messageType(route.requestType);
  for (const [key, value] of query) {
    if (SYSTEM_PARAMETERS.has(key)) continue;
    if ((key === 'alt' || key === '$alt') && value === 'json') continue;
    if (key === 'alt' || key === '$alt' || key === 'fields' || key === '$fields') {
      throw new RpcError(Code.UNIMPLEMENTED, `The offline Firestore emulator answers only whole JSON responses: "${key}=${value}" is not implemented`);
    }
    if (route.body === '*') throw queryParameterError(key, 'the request body carries every field of this method');
    setQueryParameter(type, json, key.split('.'), value, key);
  }
  route.variables.forEach((fieldPath, index) => setPath(json, fieldPath, values[index]));
  return fromProtoJson<object>(route.requestType, json);
}

async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const length = request.headers['content-length'];
  if (length === '0' || (length === undefined && !request.headers['transfer-encoding'])) return {};
  const body = await readJson(request);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RpcError(Code.INVALID_ARGUMENT, 'Invalid JSON payload received. The body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}

function setPath(json: Record<string, unknown>, fieldPath: string[], value: unknown): void {
  let target = json;
  for (const name of fieldPath.slice(0, -1)) {
    const next = target[name];
    if (typeof next === 'object' && next !== null && !Array.isArray(next)) target = next as Record<string, unknown>;
    else target = target[name] = {};
  }
  target[fieldPath[fieldPath.length - 1]] = value;
}

function queryParameterError(key: string, why: string): RpcError {
  return new RpcError(Code.INVALID_ARGUMENT, `Invalid JSON payload received. Unknown name ${JSON.stringify(key)}: Cannot bind query parameter. ${why}.`);
}

/** One query parameter into the JSON request: the field path is walked in the descriptor to type the value. */
function setQueryParameter(type: protobuf.Type, json: Record<string, unknown>, path: string[], value: string, key: string): void {
  const [head, ...rest] = path;
  const field = type.fields[head] ?? type.fields[camelCase(head)];
  if (!field) throw queryParameterError(key, `Field '${head}' could not be found in request message`);
  field.resolve();
  const resolved = field.resolvedType;
  if (rest.length > 0) {
    if (!(resolved instanceof protobuf.Type) || field.repeated) throw queryParameterError(key, `Field '${head}' is not a message`);
    const child = (json[field.name] ??= {}) as Record<string, unknown>;
    setQueryParameter(resolved, child, rest, value, key);
    return;
  }
  if (resolved instanceof protobuf.Type && !resolved.fullName.startsWith('.google.protobuf.')) {
    throw queryParameterError(key, `Field '${head}' is a message; name one of its fields`);
  }
  const typed = field.type === 'bool' ? parseBoolean(value, key) : value;
  if (field.repeated) ((json[field.name] ??= []) as unknown[]).push(typed);
  else json[field.name] = typed;
}

function parseBoolean(value: string, key: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new RpcError(Code.INVALID_ARGUMENT, `Invalid value at '${key}' (TYPE_BOOL), ${JSON.stringify(value)}`);
}
