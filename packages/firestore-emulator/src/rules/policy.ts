/**
 * The AccessPolicy the engine consults: finds the match blocks whose full pattern matches the document path,
 * evaluates their allow statements for the request method, and returns the decision with the number of
 * document lookups the rules made.
 *
 * Matching (https://firebase.google.com/docs/firestore/security/rules-structure): `{x}` matches one segment,
 * `{x=**}` zero or more in rules_version '2' (one or more in '1'). Overlapping matches: the request is allowed
 * if any allow statement of any matching block evaluates to true; one that is false or errors does not block
 * another. Allow statements are evaluated in source order and evaluation stops at the first that allows.
 *
 * Lookup limits (https://firebase.google.com/docs/firestore/security/rules-conditions#access_call_limits):
 * 10 per single-document request or query; 20 per multi-document request (a batch or transaction commit), of
 * which each operation may use 10. A lookup counts once per document per request: "cached calls do not count
 * towards the limits", and the cache here spans the whole request (get() and getAfter() of one document are
 * two lookups, of two states). Past a limit the request is denied.
 */
import type { AccessDecision, AccessPolicy, DocumentReader, RequestContext, StructuredQuery, WriteAccess } from '../engine/api';
import { Evaluator, NO_LOCALS, type Activation, type DocumentLookups, type EvaluationHooks } from './evaluator';
import type { MatchSite, Method, PatternSegment, Program } from './program';
import { queryBranches, queryProperties, type QueryBranch } from './query';
import { EvalError, LimitError, PlainMap, RMap, RPath, RValue, ResourceMap, Timestamp, Unknown, fromJson, mapOf, render } from './values';

export const MAX_LOOKUPS_PER_OPERATION = 10;
export const MAX_LOOKUPS_MULTI_DOCUMENT = 20;

/** One segment of a document path being matched; the symbols stand for what a query leaves open. */
type PathItem = string | typeof ANY_DOCUMENT_ID | typeof ANY_ANCESTORS;
/** Any document id (the id of the documents a query returns). */
const ANY_DOCUMENT_ID = Symbol('any document id');
/** Any number of collection/document pairs (where a collection group's collections can be). */
const ANY_ANCESTORS = Symbol('any ancestors');

interface DocumentName {
  project: string;
  database: string;
  /** Segments after /documents. */
  segments: string[];
}

function parseName(name: string): DocumentName {
  const parts = name.split('/');
  if (parts[0] !== 'projects' || parts[2] !== 'databases' || parts[4] !== 'documents') {
    throw new EvalError(`not a Firestore document resource name: ${name}`);
  }
  return { project: parts[1], database: parts[3], segments: parts.slice(5).filter((s) => s !== '') };
}

/** An allowed outcome names the line of the allow statement that granted it. */
type Outcome = { allowed: true; line: number } | { allowed: false; reason: string };

class RequestLookups {
  /** Distinct documents read so far in this request. */
  total = 0;
  readonly cache = new Map<string, ResourceMap | null>();

  constructor(
    readonly limit: number,
    readonly before: DocumentReader,
    readonly after: DocumentReader | null,
  ) {}

  operation(): DocumentLookups {
    return new OperationLookups(this);
  }
}

/** The lookups of one operation (one document) of a request: at most 10 new documents. */
class OperationLookups implements DocumentLookups {
  private count = 0;

  constructor(private readonly request: RequestLookups) {}

  read(name: string, afterState: boolean): ResourceMap | null {
    const request = this.request;
    const key = (afterState ? 'after:' : 'before:') + name;
    const cached = request.cache.get(key);
    if (cached !== undefined) return cached;
    const reader = afterState ? request.after : request.before;
    if (!reader) throw new EvalError('getAfter() and existsAfter() can only be used in write rules');
    if (this.count + 1 > MAX_LOOKUPS_PER_OPERATION) {
      throw new LimitError(`more than ${MAX_LOOKUPS_PER_OPERATION} document lookups (get, exists, getAfter, existsAfter) for one document`);
    }
    if (request.total + 1 > request.limit) throw new LimitError(`more than ${request.limit} document lookups in one request`);
    this.count++;
    request.total++;
    const doc = reader.get(name);
    const value = doc ? new ResourceMap(doc, name) : null;
    request.cache.set(key, value);
    return value;
  }
}

/** The `request` variable; `time` and `auth` are converted only if a rule reads them. */
class RequestMap extends RMap {
  private time: Timestamp | undefined;
  private authValue: RValue | undefined;

  constructor(
    private readonly policy: RulesPolicy,
    private readonly ctx: RequestContext,
    private readonly method: Method,
    private readonly path: RValue,
    /** request.resource (create, update: the document after the write; delete: null). */
    private readonly resource?: RValue,
    /** request.query (lists). */
    private readonly query?: RValue,
  ) {
    super();
  }

  get(key: string): RValue | undefined {
    switch (key) {
      case 'auth':
        return this.authValue === undefined ? (this.authValue = this.policy.auth(this.ctx)) : this.authValue;
      case 'method':
        return this.method;
      case 'path':
        return this.path;
      case 'time':
        return (this.time ??= new Timestamp(BigInt(String(this.ctx.time.seconds ?? 0)) * 1_000_000_000n + BigInt(this.ctx.time.nanos ?? 0)));
      case 'resource':
        return this.resource;
      case 'query':
        return this.query;
      default:
        return undefined;
    }
  }

  keys(): string[] {
    return ['auth', 'method', 'path', 'time', 'resource', 'query'].filter((k) => this.get(k) !== undefined);
  }
}

export class RulesPolicy implements AccessPolicy {
  private readonly authCache = new WeakMap<object, RValue>();

  constructor(
    private readonly program: Program,
    private readonly hooks: EvaluationHooks,
  ) {}

  authorizeGet(ctx: RequestContext, name: string, before: DocumentReader): AccessDecision {
    const lookups = new RequestLookups(MAX_LOOKUPS_PER_OPERATION, before, null);
    try {
      const target = parseName(name);
      const doc = before.get(name);
      const path = documentPath(target);
      const activation: Activation = {
        request: new RequestMap(this, ctx, 'get', path),
        resource: doc ? new ResourceMap(doc, name) : null,
        project: target.project,
        database: target.database,
        lookups: lookups.operation(),
      };
      return this.decision(this.decide('get', items(target), activation), 'get', path, lookups);
    } catch (error) {
      return this.failure(error, 'get', name, lookups);
    }
  }

  authorizeWrites(ctx: RequestContext, writes: WriteAccess[], before: DocumentReader, after: DocumentReader): AccessDecision {
    const lookups = new RequestLookups(writes.length > 1 ? MAX_LOOKUPS_MULTI_DOCUMENT : MAX_LOOKUPS_PER_OPERATION, before, after);
    const ruleLines = new Set<number>();
    for (const write of writes) {
      try {
        const target = parseName(write.name);
        const path = documentPath(target);
        const activation: Activation = {
          request: new RequestMap(this, ctx, write.method, path, write.after ? new ResourceMap(write.after, write.name) : null),
          resource: write.before ? new ResourceMap(write.before, write.name) : null,
          project: target.project,
          database: target.database,
          lookups: lookups.operation(),
        };
        const decision = this.decision(this.decide(write.method, items(target), activation), write.method, path, lookups);
        if (!decision.allowed) return decision;
        for (const line of decision.ruleLines ?? []) ruleLines.add(line);
      } catch (error) {
        return this.failure(error, write.method, write.name, lookups);
      }
    }
    return { allowed: true, lookups: lookups.total, ruleLines: [...ruleLines] };
  }

  authorizeQuery(ctx: RequestContext, parent: string, query: StructuredQuery, before: DocumentReader): AccessDecision {
    const lookups = new RequestLookups(MAX_LOOKUPS_PER_OPERATION, before, null);
    let shown = parent;
    try {
      const target = parseName(parent);
      const from = query.from ?? [];
      if (from.length !== 1 || !from[0].collectionId) throw new EvalError('a query must select exactly one collection');
      const { collectionId, allDescendants } = from[0];
      const base = ['databases', target.database, 'documents', ...target.segments];
      shown = `/${base.join('/')}${allDescendants ? '/**' : ''}/${collectionId}/{any document}`;
      if (allDescendants && this.program.version !== '2') {
        return { allowed: false, lookups: 0, message: `list ${shown}: collection group queries need rules_version = '2'` };
      }
      const operation = lookups.operation(); // every branch is part of one operation: the query
      const ruleLines = new Set<number>();
      const properties = queryProperties(query);
      for (const branch of queryBranches(query.where)) {
        const symbolic = symbolicDocument(base, collectionId, !!allDescendants, branch);
        const activation: Activation = {
          request: new RequestMap(this, ctx, 'list', symbolic.path, undefined, properties),
          resource: mapOf({ __name__: symbolic.path, id: symbolic.id, data: branch.data }),
          project: target.project,
          database: target.database,
          lookups: operation,
        };
        const outcome = this.decide('list', symbolic.items, activation);
        if (!outcome.allowed) {
          const where = branch.description === 'no equality filters' ? '' : ` (query branch where ${branch.description})`;
          return { allowed: false, lookups: lookups.total, message: `list ${shown}${where}: ${outcome.reason}` };
        }
        ruleLines.add(outcome.line);
      }
      return { allowed: true, lookups: lookups.total, ruleLines: [...ruleLines] };
    } catch (error) {
      return this.failure(error, 'list', shown, lookups);
    }
  }

  // ---------------------------------------------------------------------------------------------------------

  private decision(outcome: Outcome, method: Method, path: RPath, lookups: RequestLookups): AccessDecision {
    if (outcome.allowed) return { allowed: true, lookups: lookups.total, ruleLines: [outcome.line] };
    return { allowed: false, lookups: lookups.total, message: `${method} ${path.toString()}: ${outcome.reason}` };
  }

  private failure(error: unknown, method: Method, path: string, lookups: RequestLookups): AccessDecision {
    if (error instanceof LimitError || error instanceof EvalError) {
      return { allowed: false, lookups: lookups.total, message: `${method} ${path}: ${error.message}` };
    }
    throw error;
  }

  /** Evaluates every allow statement for `method` of every match site matching the path, in source order. */
  private decide(method: Method, path: PathItem[], activation: Activation): Outcome {
    const evaluator = new Evaluator(activation, this.hooks);
    const outcomes: string[] = [];
    for (const site of this.program.sites) {
      const allows = site.allows[method];
      if (allows.length === 0) continue;
      const bindings = matchSite(site, path, this.program.version);
      if (!bindings) continue;
      evaluator.wildcards = bindings;
      for (const allow of allows) {
        if (!allow.condition) return { allowed: true, line: allow.loc.line };
        try {
          const value = evaluator.evaluate(allow.condition, NO_LOCALS);
          if (value === true) return { allowed: true, line: allow.loc.line };
          outcomes.push(`${value === false ? 'false' : `not a bool (${render(value)})`} for '${method}' @ L${allow.loc.line}`);
        } catch (error) {
          if (error instanceof LimitError) {
            return { allowed: false, reason: `${error.message}, evaluating the allow statement @ L${allow.loc.line}` };
          }
          if (!(error instanceof EvalError)) throw error;
          const at = error.loc ? ` (L${error.loc.line}:${error.loc.column})` : '';
          outcomes.push(`${error.message}${at} for '${method}' @ L${allow.loc.line}`);
        }
      }
    }
    if (outcomes.length === 0) return { allowed: false, reason: `no allow statement for '${method}' matches this path` };
    return { allowed: false, reason: outcomes.join('; ') };
  }

  /** request.auth: null when signed out, else { uid, token } with the decoded ID-token claims. */
  auth(ctx: RequestContext): RValue {
    const caller = ctx.caller;
    if (caller.kind !== 'user') return null;
    let auth = this.authCache.get(caller);
    if (auth === undefined) {
      auth = new PlainMap(
        new Map<string, RValue>([
          ['uid', caller.uid],
          ['token', fromJson(caller.token)],
        ]),
      );
      this.authCache.set(caller, auth);
    }
    return auth;
  }
}

function documentPath(target: DocumentName): RPath {
  return new RPath(['databases', target.database, 'documents', ...target.segments]);
}

function items(target: DocumentName): PathItem[] {
  return ['databases', target.database, 'documents', ...target.segments];
}

/** The documents a query can return, as a path with open parts, and the matching resource.__name__ / id. */
function symbolicDocument(
  base: string[],
  collectionId: string,
  collectionGroup: boolean,
  branch: QueryBranch,
): { items: PathItem[]; path: RValue; id: RValue } {
  if (branch.name) return { items: [...branch.name], path: new RPath(branch.name), id: branch.name[branch.name.length - 1] };
  const id = new Unknown('resource.id (the query does not constrain __name__)');
  if (collectionGroup) {
    return {
      items: [...base, ANY_ANCESTORS, collectionId, ANY_DOCUMENT_ID],
      path: new Unknown('the path of a document of the collection group'),
      id,
    };
  }
  return { items: [...base, collectionId, ANY_DOCUMENT_ID], path: new RPath([...base, collectionId, id]), id };
}

/** What a recursive wildcard `{name=**}` binds to the path items it consumes. */
function recursiveBinding(consumed: PathItem[], name: string): RValue {
  const segments: (string | Unknown)[] = [];
  for (const item of consumed) {
    if (item === ANY_ANCESTORS) return new Unknown(`{${name}=**} (the path above a collection group)`);
    segments.push(item === ANY_DOCUMENT_ID ? new Unknown(`{${name}=**} (any document id)`) : item);
  }
  return new RPath(segments);
}

/**
 * Wildcard bindings if the site's pattern matches the path for every value of its open parts, else null.
 * An open document id matches only a `{x}` or `{x=**}` wildcard (bound to an unknown); open ancestors only a
 * recursive wildcard.
 */
function matchSite(site: MatchSite, path: PathItem[], version: '1' | '2'): RValue[] | null {
  const bindings = new Array<RValue>(site.wildcardCount);
  const minRecursive = version === '2' ? 0 : 1;
  const match = (pi: number, qi: number): boolean => {
    if (pi === site.pattern.length) return qi === path.length;
    const segment: PatternSegment = site.pattern[pi];
    if (segment.kind === 'literal') return qi < path.length && path[qi] === segment.text && match(pi + 1, qi + 1);
    if (segment.kind === 'wildcard') {
      const item = path[qi];
      if (qi >= path.length || item === ANY_ANCESTORS) return false;
      bindings[segment.index] = item === ANY_DOCUMENT_ID ? new Unknown(`{${segment.name}} (any document id)`) : item;
      return match(pi + 1, qi + 1);
    }
    for (let end = qi + minRecursive; end <= path.length; end++) {
      bindings[segment.index] = recursiveBinding(path.slice(qi, end), segment.name);
      if (match(pi + 1, end)) return true;
    }
    return false;
  };
  return match(0, 0) ? bindings : null;
}
