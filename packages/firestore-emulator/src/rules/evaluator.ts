/**
 * Evaluates compiled expressions for one operation (one document of one request), enforcing the per-request
 * limits and recording coverage.
 *
 * Error semantics (https://firebase.google.com/docs/reference/rules/rules.Boolean and the CEL semantics the
 * language builds on): an error is a value that only `||` and `&&` can absorb — `error || true` is true,
 * `error && false` is false — otherwise it makes the allow statement deny. Errors are thrown as EvalError
 * (not an Error subclass, so throwing costs no stack trace); LimitError is never absorbed.
 */
import type { Loc } from './ast';
import { arithmetic, callMethod, contains, convert, field, index, isType, namespaceFunction, negate, pathSegment, relational, slice } from './builtins';
import type { CompiledFunction, Node } from './program';
import { EvalError, LimitError, PlainMap, RMap, RPath, RValue, ResourceMap, Unknown, equals, render, typeName, unknownUse } from './values';
import { coverageKey, coverageValue } from './coverage';

/** https://firebase.google.com/docs/firestore/quotas: "Maximum number of expressions evaluated per request". */
export const MAX_EXPRESSIONS = 1000;
/** https://firebase.google.com/docs/firestore/quotas: "Maximum function call depth". */
export const MAX_CALL_DEPTH = 20;

/** The frame an allow condition is evaluated in: parameters and let bindings exist only inside functions. */
export const NO_LOCALS: readonly RValue[] = [];

/** Document reads for get()/exists() (state before the request) and getAfter()/existsAfter() (after it). */
export interface DocumentLookups {
  /** Throws LimitError past the lookup limit; `after` throws EvalError when the request has no after-state. */
  read(name: string, after: boolean): ResourceMap | null;
}

/** What the variables of one operation are bound to. */
export interface Activation {
  request: RValue;
  resource: RValue;
  project: string;
  database: string;
  lookups: DocumentLookups;
}

export interface EvaluationHooks {
  recordCoverage: boolean;
  debug(line: string): void;
}

export class Evaluator {
  /** Expressions evaluated so far in this operation. */
  expressions = 0;
  private depth = 0;
  /** Wildcard bindings of the match site being evaluated. */
  wildcards: RValue[] = [];

  constructor(
    private readonly activation: Activation,
    private readonly hooks: EvaluationHooks,
  ) {}

  evaluate(node: Node, frame: readonly RValue[]): RValue {
    if (++this.expressions > MAX_EXPRESSIONS) {
      throw new LimitError(`more than ${MAX_EXPRESSIONS} expressions evaluated for one document (limit of the rules service)`);
    }
    let value: RValue;
    try {
      value = this.evaluateNode(node, frame);
    } catch (error) {
      if (error instanceof EvalError) {
        error.loc ??= node.loc;
        if (this.hooks.recordCoverage) this.record(node, `error:${error.message}`, () => ({ errorValue: error.message }));
      }
      throw error;
    }
    if (this.hooks.recordCoverage) this.record(node, coverageKey(value), () => coverageValue(value));
    return value;
  }

  private record(node: Node, key: string, json: () => unknown): void {
    const values = node.coverage.values;
    const seen = values.get(key);
    if (seen) seen.count++;
    else if (values.size < 50) values.set(key, { value: json(), count: 1 });
  }

  private evaluateNode(node: Node, frame: readonly RValue[]): RValue {
    switch (node.t) {
      case 'const':
        return node.value;
      case 'wildcard':
        return this.wildcards[node.index];
      case 'local':
        return frame[node.slot];
      case 'request':
        return this.activation.request;
      case 'resource':
        return this.activation.resource;
      case 'path': {
        const segments: (string | Unknown)[] = [];
        for (const part of node.parts) {
          if (typeof part === 'string') segments.push(part);
          else segments.push(...pathSegment(this.evaluate(part, frame)));
        }
        return new RPath(segments);
      }
      case 'bindPath': {
        const bindings = this.evaluate(node.bindings, frame);
        if (!(bindings instanceof RMap)) throw new EvalError(`bind() takes a map, not ${typeName(bindings)}`);
        const segments: (string | Unknown)[] = [];
        for (const part of node.parts) {
          if (typeof part === 'string') segments.push(part);
          else if ('hole' in part) {
            const v = bindings.get(part.hole);
            if (v === undefined) throw new EvalError(`bind(): no value for path variable ${part.hole}`);
            segments.push(...pathSegment(v));
          } else segments.push(...pathSegment(this.evaluate(part, frame)));
        }
        return new RPath(segments);
      }
      case 'list':
        return node.items.map((item) => this.evaluate(item, frame));
      case 'map': {
        const entries = new Map<string, RValue>();
        node.keys.forEach((keyNode, i) => {
          const key = this.evaluate(keyNode, frame);
          if (typeof key !== 'string') throw new EvalError(`map keys must be strings, not ${typeName(key)}`, keyNode.loc);
          if (entries.has(key)) throw new EvalError(`duplicate map key ${JSON.stringify(key)}`, keyNode.loc);
          entries.set(key, this.evaluate(node.values[i], frame));
        });
        return new PlainMap(entries);
      }
      case 'not': {
        const v = this.evaluate(node.operand, frame);
        if (typeof v !== 'boolean') throw notBoolean('!', v);
        return !v;
      }
      case 'negate':
        return negate(this.evaluate(node.operand, frame));
      case 'and':
        return this.and(node.left, node.right, frame);
      case 'or':
        return this.or(node.left, node.right, frame);
      case 'binary': {
        const left = this.evaluate(node.left, frame);
        const right = this.evaluate(node.right, frame);
        switch (node.op) {
          case '==':
            return equals(left, right);
          case '!=':
            return !equals(left, right);
          case '<':
          case '<=':
          case '>':
          case '>=':
            return relational(node.op, left, right);
          case 'in':
            return contains(right, left);
          default:
            return arithmetic(node.op, left, right);
        }
      }
      case 'ternary': {
        const test = this.evaluate(node.test, frame);
        if (typeof test !== 'boolean') throw notBoolean('?:', test);
        return this.evaluate(test ? node.consequent : node.alternate, frame);
      }
      case 'is':
        return isType(this.evaluate(node.operand, frame), node.type);
      case 'member':
        return field(this.evaluate(node.object, frame), node.name);
      case 'index':
        return index(this.evaluate(node.object, frame), this.evaluate(node.index, frame));
      case 'slice':
        return slice(this.evaluate(node.object, frame), this.evaluate(node.from, frame), this.evaluate(node.to, frame));
      case 'call':
        return this.callFunction(node.fn, node.args, frame);
      case 'builtin':
        return this.builtin(node.name, node.args, frame, node.loc);
      case 'namespace':
        return namespaceFunction(
          node.namespace,
          node.name,
          node.args.map((a) => this.evaluate(a, frame)),
        );
      case 'method': {
        const receiver = this.evaluate(node.object, frame);
        return callMethod(
          receiver,
          node.name,
          node.args.map((a) => this.evaluate(a, frame)),
        );
      }
    }
  }

  /** `a || b`: true if either side is true; an error on one side is absorbed only by a true other side. */
  private or(left: Node, right: Node, frame: readonly RValue[]): boolean {
    const leftError = this.attempt(left, frame, '||');
    if (leftError === true) return true;
    const r = this.evaluate(right, frame);
    if (r === true) return true;
    if (leftError instanceof EvalError) throw leftError;
    if (r !== false) throw notBoolean('||', r);
    return false;
  }

  /** `a && b`: false if either side is false; an error on one side is absorbed only by a false other side. */
  private and(left: Node, right: Node, frame: readonly RValue[]): boolean {
    const leftError = this.attempt(left, frame, '&&');
    if (leftError === false) return false;
    const r = this.evaluate(right, frame);
    if (r === false) return false;
    if (leftError instanceof EvalError) throw leftError;
    if (r !== true) throw notBoolean('&&', r);
    return true;
  }

  /** The boolean a logical operand evaluates to, or the EvalError it raised (non-booleans are errors too). */
  private attempt(node: Node, frame: readonly RValue[], op: string): boolean | EvalError {
    try {
      const v = this.evaluate(node, frame);
      if (typeof v === 'boolean') return v;
      const error = v instanceof Unknown ? unknownUse(v) : notBoolean(op, v);
      error.loc = node.loc;
      return error;
    } catch (error) {
      if (error instanceof EvalError) return error;
      throw error;
    }
  }

  private callFunction(fn: CompiledFunction, args: Node[], frame: readonly RValue[]): RValue {
    const calleeFrame = new Array<RValue>(fn.frameSize);
    for (let i = 0; i < args.length; i++) calleeFrame[i] = this.evaluate(args[i], frame);
    if (++this.depth > MAX_CALL_DEPTH) throw new LimitError(`function call depth exceeds ${MAX_CALL_DEPTH} (calling ${fn.name})`);
    try {
      // let bindings are evaluated eagerly, in order ("the isAdmin assignment enforces a lookup",
      // https://firebase.google.com/docs/rules/rules-language#function); an error in one fails the call.
      let slot = fn.params.length;
      for (const binding of fn.lets) calleeFrame[slot++] = this.evaluate(binding, calleeFrame);
      return this.evaluate(fn.body, calleeFrame);
    } finally {
      this.depth--;
    }
  }

  private builtin(name: string, args: Node[], frame: readonly RValue[], loc: Loc): RValue {
    const arg = this.evaluate(args[0], frame);
    switch (name) {
      case 'get':
      case 'getAfter':
        return this.activation.lookups.read(this.documentName(arg, name), name === 'getAfter');
      case 'exists':
      case 'existsAfter':
        return this.activation.lookups.read(this.documentName(arg, name), name === 'existsAfter') !== null;
      case 'debug':
        this.hooks.debug(`${typeName(arg)}_value: ${render(arg)} (L${loc.line}:${loc.column})`);
        return arg;
      default:
        return convert(name, arg);
    }
  }

  /** The resource name get()/exists() read: the path must be /databases/{this database}/documents/{document path}. */
  private documentName(path: RValue, fn: string): string {
    if (!(path instanceof RPath)) throw new EvalError(`${fn}() takes a path, not ${typeName(path)}`);
    const segments = path.segments.map((s) => {
      if (s instanceof Unknown) throw unknownUse(s);
      return s;
    });
    if (segments[0] !== 'databases' || segments[2] !== 'documents') {
      throw new EvalError(`${fn}() needs a path of the form /databases/{database}/documents/..., not ${path.toString()}`);
    }
    if (segments[1] !== this.activation.database) {
      throw new EvalError(`${fn}() of another database (${segments[1]}) is not supported; this request is on ${this.activation.database}`);
    }
    const rest = segments.slice(3);
    if (rest.length === 0 || rest.length % 2 !== 0) throw new EvalError(`${fn}() needs a document path, not the collection path ${path.toString()}`);
    return `projects/${this.activation.project}/databases/${this.activation.database}/documents/${rest.join('/')}`;
  }
}

function notBoolean(op: string, v: RValue): EvalError {
  if (v instanceof Unknown) return unknownUse(v);
  return new EvalError(`operator ${op} needs a bool, not ${typeName(v)}`);
}
