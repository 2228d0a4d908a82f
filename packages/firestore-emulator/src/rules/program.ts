/**
 * A compiled ruleset: match blocks flattened into full path patterns, allow conditions and function bodies as
 * resolved expression trees (every name bound to a wildcard slot, a local slot, a function or a builtin), so a
 * request never re-parses or re-resolves anything.
 */
import type { BinaryOp, Loc } from './ast';
import type { TypeCheck } from './builtins';
import type { RValue } from './values';

export type Method = 'get' | 'list' | 'create' | 'update' | 'delete';
export const METHODS: readonly Method[] = ['get', 'list', 'create', 'update', 'delete'];

/** What one expression evaluated to over the life of the ruleset (for the coverage report). */
export class ExpressionCoverage {
  /** Rendered value -> { JSON value, count }. */
  readonly values = new Map<string, { value: unknown; count: number }>();
}

interface Common {
  loc: Loc;
  /** Sub-expressions, in source order (coverage report). */
  children: Node[];
  coverage: ExpressionCoverage;
}

export type PathPart = string | Node;

/** What each kind of expression holds besides the common fields. */
export type NodeBody =
  | { t: 'const'; value: RValue }
  | { t: 'wildcard'; index: number; name: string }
  | { t: 'local'; slot: number; name: string }
  | { t: 'request' }
  | { t: 'resource' }
  | { t: 'path'; parts: PathPart[] }
  /** A path literal with open `$(name)` segments, bound by the map of `.bind(map)`. */
  | { t: 'bindPath'; parts: (PathPart | { hole: string })[]; bindings: Node }
  | { t: 'list'; items: Node[] }
  | { t: 'map'; keys: Node[]; values: Node[] }
  | { t: 'not'; operand: Node }
  | { t: 'negate'; operand: Node }
  | { t: 'and'; left: Node; right: Node }
  | { t: 'or'; left: Node; right: Node }
  | { t: 'binary'; op: Exclude<BinaryOp, '&&' | '||'>; left: Node; right: Node }
  | { t: 'ternary'; test: Node; consequent: Node; alternate: Node }
  | { t: 'is'; operand: Node; type: TypeCheck }
  | { t: 'member'; object: Node; name: string }
  | { t: 'index'; object: Node; index: Node }
  | { t: 'slice'; object: Node; from: Node; to: Node }
  | { t: 'call'; fn: CompiledFunction; args: Node[] }
  | { t: 'builtin'; name: string; args: Node[] }
  | { t: 'namespace'; namespace: string; name: string; args: Node[] }
  | { t: 'method'; object: Node; name: string; args: Node[] };

export type Node = Common & NodeBody;

export interface CompiledFunction {
  name: string;
  loc: Loc;
  params: string[];
  /** let bindings, evaluated in order into the slots after the parameters. */
  lets: Node[];
  body: Node;
  frameSize: number;
}

export interface CompiledAllow {
  loc: Loc;
  methods: string[];
  /** null: `allow read;` without a condition always allows. */
  condition: Node | null;
}

export type PatternSegment =
  { kind: 'literal'; text: string } | { kind: 'wildcard'; index: number; name: string } | { kind: 'recursive'; index: number; name: string };

/** A match block that has allow statements, with the full pattern from the service root. */
export interface MatchSite {
  loc: Loc;
  pattern: PatternSegment[];
  /** Allow statements applying to each request method (read covers get/list, write covers create/update/delete). */
  allows: Record<Method, CompiledAllow[]>;
  wildcardCount: number;
}

export interface Program {
  version: '1' | '2';
  fileName: string;
  source: string;
  sites: MatchSite[];
  /** Coverage roots: allow conditions, then function lets and bodies, in source order. */
  roots: Node[];
}
