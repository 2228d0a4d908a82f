/**
 * From syntax tree to Program: resolves every name statically and refuses, with line and column, whatever the
 * engine does not support or the rules service forbids (https://firebase.google.com/docs/firestore/quotas,
 * "Security rules" limits; https://firebase.google.com/docs/rules/rules-language for the constructs).
 */
import type { Loc, MatchSegment, SyntaxAllow, SyntaxBodyItem, SyntaxExpr, SyntaxFunction, SyntaxMatch, SyntaxRuleset } from './ast';
import { GLOBAL_FUNCTIONS, METHOD_ARITIES, NAMESPACE_FUNCTIONS, TYPE_CHECKS } from './builtins';
import { RulesCompileError } from './errors';
import {
  ExpressionCoverage,
  METHODS,
  type CompiledAllow,
  type CompiledFunction,
  type MatchSite,
  type Method,
  type Node,
  type NodeBody,
  type PathPart,
  type PatternSegment,
  type Program,
} from './program';
import { INT_MAX, INT_MIN } from './values';

/** Limits from the "Security rules" table of https://firebase.google.com/docs/firestore/quotas. */
const MAX_MATCH_DEPTH = 10;
const MAX_PATH_SEGMENTS = 100;
const MAX_CAPTURES = 20;
const MAX_FUNCTION_ARGS = 7;
const MAX_LETS = 10;

const ALLOW_METHODS = new Set(['read', 'write', 'get', 'list', 'create', 'update', 'delete']);
const COVERED_BY: Record<Method, string[]> = {
  get: ['get', 'read'],
  list: ['list', 'read'],
  create: ['create', 'write'],
  update: ['update', 'write'],
  delete: ['delete', 'write'],
};

interface Block {
  parent: Block | null;
  functions: Map<string, FunctionEntry>;
  /** Wildcard name -> slot, for this block and its ancestors. */
  wildcards: Map<string, number>;
}

interface FunctionEntry {
  decl: SyntaxFunction;
  block: Block;
  compiled: CompiledFunction;
  /** Calls made from this function's body, for the recursion check. */
  calls: { callee: FunctionEntry; loc: Loc }[];
}

interface ExprScope {
  block: Block;
  /** Parameter and let names visible at this point -> frame slot (null outside functions). */
  locals: Map<string, number> | null;
  caller: FunctionEntry | null;
}

function fail(message: string, loc: Loc): never {
  throw new RulesCompileError(message, loc.line, loc.column);
}

export function compileProgram(tree: SyntaxRuleset, fileName: string, source: string): Program {
  const version = rulesVersion(tree);
  if (tree.services.length === 0) throw new RulesCompileError('no service declaration; expected service cloud.firestore { ... }', 1, 1);
  if (tree.services.length > 1) fail('only one service declaration is allowed per rules file', tree.services[1].loc);
  const service = tree.services[0];
  if (service.name !== 'cloud.firestore') fail(`unsupported service '${service.name}': this emulator evaluates only service cloud.firestore`, service.loc);
  return new Compiler(version, fileName, source).compile(tree.functions, service.body);
}

/** rules_version: absent means '1'. */
function rulesVersion(tree: SyntaxRuleset): '1' | '2' {
  if (!tree.version) return '1';
  const { value, loc } = tree.version;
  if (value !== '1' && value !== '2') fail(`unsupported rules_version '${value}' (supported: '1', '2')`, loc);
  return value;
}

class Compiler {
  private readonly sites: MatchSite[] = [];
  private readonly functions: FunctionEntry[] = [];
  private readonly pendingAllows: { allow: SyntaxAllow; block: Block; site: MatchSite }[] = [];
  private readonly roots: Node[] = [];

  constructor(
    private readonly version: '1' | '2',
    private readonly fileName: string,
    private readonly source: string,
  ) {}

  compile(fileFunctions: SyntaxFunction[], serviceBody: SyntaxBodyItem[]): Program {
    // Functions declared outside the service (production compiles them) enclose the service's own.
    const file: Block = { parent: null, functions: new Map(), wildcards: new Map() };
    this.declareBlock(fileFunctions, file, [], 0, true);
    const root: Block = { parent: file, functions: new Map(), wildcards: new Map() };
    this.declareBlock(serviceBody, root, [], 0, true);
    for (const entry of this.functions) this.compileFunction(entry);
    for (const { allow, block, site } of this.pendingAllows) this.compileAllow(allow, block, site);
    this.checkRecursion();
    this.roots.sort((a, b) => a.loc.start - b.loc.start);
    this.sites.sort((a, b) => a.loc.start - b.loc.start);
    return { version: this.version, fileName: this.fileName, source: this.source, sites: this.sites, roots: this.roots };
  }

  // ---- structure ---------------------------------------------------------------------------------------

  private declareBlock(items: SyntaxBodyItem[], block: Block, pattern: PatternSegment[], depth: number, isService: boolean, site?: MatchSite): void {
    for (const item of items) {
      if (item.kind !== 'function') continue;
      if (block.functions.has(item.name)) fail(`function ${item.name} is declared twice in the same block`, item.loc);
      // The body is compiled once every function is declared, since functions may call ones declared later;
      // until then it is a placeholder that no evaluation can reach.
      const placeholder = this.node(item.loc, [], { t: 'const', value: null });
      const entry: FunctionEntry = {
        decl: item,
        block,
        calls: [],
        compiled: { name: item.name, loc: item.loc, params: item.params.map((p) => p.name), lets: [], body: placeholder, frameSize: 0 },
      };
      block.functions.set(item.name, entry);
      this.functions.push(entry);
    }
    for (const item of items) {
      if (item.kind === 'match') this.declareMatch(item, block, pattern, depth);
      else if (item.kind === 'allow') {
        if (isService || !site) fail('allow statements must be inside a match block', item.loc);
        this.pendingAllows.push({ allow: item, block, site });
      }
    }
  }

  private declareMatch(match: SyntaxMatch, parent: Block, parentPattern: PatternSegment[], parentDepth: number): void {
    const depth = parentDepth + 1;
    if (depth > MAX_MATCH_DEPTH) fail(`match statements are nested more than ${MAX_MATCH_DEPTH} deep`, match.loc);
    const wildcards = new Map(parent.wildcards);
    const pattern = [...parentPattern];
    const recursive = match.path.filter((s) => s.kind === 'recursive');
    if (recursive.length > 1) fail('a match statement can have at most one recursive wildcard {name=**}', recursive[1].loc);
    match.path.forEach((segment: MatchSegment, i) => {
      if (segment.kind === 'literal') {
        pattern.push({ kind: 'literal', text: segment.text });
        return;
      }
      if (wildcards.has(segment.name)) fail(`wildcard {${segment.name}} is already bound by this or an enclosing match`, segment.loc);
      if (segment.kind === 'recursive' && this.version === '1' && i !== match.path.length - 1) {
        fail(`in rules_version '1' a recursive wildcard must end the match path; use rules_version = '2' to place it elsewhere`, segment.loc);
      }
      const index = wildcards.size;
      wildcards.set(segment.name, index);
      pattern.push({ kind: segment.kind, index, name: segment.name });
    });
    if (pattern.length > MAX_PATH_SEGMENTS) fail(`nested match paths are longer than ${MAX_PATH_SEGMENTS} segments`, match.loc);
    if (wildcards.size > MAX_CAPTURES) fail(`nested match paths capture more than ${MAX_CAPTURES} variables`, match.loc);
    const block: Block = { parent, functions: new Map(), wildcards };
    const site: MatchSite = {
      loc: match.loc,
      pattern,
      allows: { get: [], list: [], create: [], update: [], delete: [] },
      wildcardCount: wildcards.size,
    };
    if (match.body.some((item) => item.kind === 'allow')) this.sites.push(site);
    this.declareBlock(match.body, block, pattern, depth, false, site);
  }

  private compileAllow(allow: SyntaxAllow, block: Block, site: MatchSite): void {
    for (const method of allow.methods) {
      if (!ALLOW_METHODS.has(method.name))
        fail(`unknown method '${method.name}' in allow (expected read, write, get, list, create, update or delete)`, method.loc);
    }
    const names = allow.methods.map((m) => m.name);
    const condition = allow.condition ? this.expr(allow.condition, { block, locals: null, caller: null }) : null;
    if (condition) this.roots.push(condition);
    const compiled: CompiledAllow = { loc: allow.loc, methods: names, condition };
    for (const method of METHODS) {
      if (COVERED_BY[method].some((m) => names.includes(m))) site.allows[method].push(compiled);
    }
  }

  private compileFunction(entry: FunctionEntry): void {
    const { decl, compiled } = entry;
    if (decl.params.length > MAX_FUNCTION_ARGS) fail(`function ${decl.name} has more than ${MAX_FUNCTION_ARGS} parameters`, decl.loc);
    if (decl.lets.length > MAX_LETS) fail(`function ${decl.name} has more than ${MAX_LETS} let bindings`, decl.lets[MAX_LETS].loc);
    if (decl.lets.length > 0 && this.version !== '2') fail(`let bindings require rules_version = '2'`, decl.lets[0].loc);
    const locals = new Map<string, number>();
    for (const param of decl.params) {
      if (locals.has(param.name)) fail(`parameter ${param.name} is declared twice`, param.loc);
      locals.set(param.name, locals.size);
    }
    const scope: ExprScope = { block: entry.block, locals, caller: entry };
    for (const binding of decl.lets) {
      if (locals.has(binding.name)) fail(`${binding.name} is already defined in function ${decl.name}`, binding.loc);
      const value = this.expr(binding.value, scope);
      compiled.lets.push(value);
      this.roots.push(value);
      locals.set(binding.name, locals.size);
    }
    compiled.body = this.expr(decl.body, scope);
    this.roots.push(compiled.body);
    compiled.frameSize = locals.size;
  }

  /** Functions may call functions but never themselves, directly or through others (limit: 0 recursive calls). */
  private checkRecursion(): void {
    const state = new Map<FunctionEntry, 'visiting' | 'done'>();
    const visit = (entry: FunctionEntry, trail: string[]): void => {
      state.set(entry, 'visiting');
      for (const { callee, loc } of entry.calls) {
        if (state.get(callee) === 'visiting') {
          const cycle = [...trail.slice(trail.indexOf(callee.decl.name)), entry.decl.name, callee.decl.name];
          fail(`recursive function calls are not allowed: ${cycle.join(' -> ')}`, loc);
        }
        if (!state.has(callee)) visit(callee, [...trail, entry.decl.name]);
      }
      state.set(entry, 'done');
    };
    for (const entry of this.functions) if (!state.has(entry)) visit(entry, []);
  }

  // ---- expressions -------------------------------------------------------------------------------------

  private node(loc: Loc, children: Node[], body: NodeBody): Node {
    return { loc, children, coverage: new ExpressionCoverage(), ...body };
  }

  private expr(e: SyntaxExpr, scope: ExprScope): Node {
    switch (e.kind) {
      case 'literal': {
        const v = e.value;
        return this.node(e.loc, [], { t: 'const', value: v !== null && typeof v === 'object' ? v.float : v });
      }
      case 'int':
        if (e.value > INT_MAX) fail(`integer literal ${e.text} is out of the 64-bit range`, e.loc);
        return this.node(e.loc, [], { t: 'const', value: e.value });
      case 'bytes': {
        const bytes: number[] = [];
        for (const part of e.parts) {
          if ('byte' in part) bytes.push(part.byte);
          else bytes.push(...Buffer.from(part.text, 'utf8'));
        }
        return this.node(e.loc, [], { t: 'const', value: new Uint8Array(bytes) });
      }
      case 'ident':
        return this.identifier(e.name, e.loc, scope);
      case 'call':
        return this.call(e, scope);
      case 'path':
        return this.pathNode(e.loc, this.pathParts(e.segments, scope));
      case 'list': {
        const items = e.items.map((i) => this.expr(i, scope));
        return this.node(e.loc, items, { t: 'list', items });
      }
      case 'map': {
        const keys = e.entries.map((entry) => this.expr(entry.key, scope));
        const values = e.entries.map((entry) => this.expr(entry.value, scope));
        return this.node(
          e.loc,
          e.entries.flatMap((_, i) => [keys[i], values[i]]),
          { t: 'map', keys, values },
        );
      }
      case 'unary': {
        if (e.op === '-' && e.operand.kind === 'int') {
          // Fold so that -9223372036854775808 is a valid literal.
          const value = -e.operand.value;
          if (value < INT_MIN) fail(`integer literal -${e.operand.text} is out of the 64-bit range`, e.loc);
          return this.node(e.loc, [], { t: 'const', value });
        }
        const operand = this.expr(e.operand, scope);
        return this.node(e.loc, [operand], { t: e.op === '!' ? 'not' : 'negate', operand });
      }
      case 'binary': {
        const left = this.expr(e.left, scope);
        const right = this.expr(e.right, scope);
        if (e.op === '&&') return this.node(e.loc, [left, right], { t: 'and', left, right });
        if (e.op === '||') return this.node(e.loc, [left, right], { t: 'or', left, right });
        return this.node(e.loc, [left, right], { t: 'binary', op: e.op, left, right });
      }
      case 'ternary': {
        const test = this.expr(e.test, scope);
        const consequent = this.expr(e.consequent, scope);
        const alternate = this.expr(e.alternate, scope);
        return this.node(e.loc, [test, consequent, alternate], { t: 'ternary', test, consequent, alternate });
      }
      case 'is': {
        const type = TYPE_CHECKS.find((name) => name === e.type);
        if (type === undefined) fail(`unsupported type '${e.type}' after is (supported: ${TYPE_CHECKS.join(', ')})`, e.typeLoc);
        const operand = this.expr(e.operand, scope);
        return this.node(e.loc, [operand], { t: 'is', operand, type });
      }
      case 'member': {
        if (e.object.kind === 'ident' && this.isNamespace(e.object.name, scope)) {
          fail(`${e.object.name}.${e.name} is not a value; ${e.object.name} has only functions`, e.loc);
        }
        const object = this.expr(e.object, scope);
        return this.node(e.loc, [object], { t: 'member', object, name: e.name });
      }
      case 'index': {
        const object = this.expr(e.object, scope);
        const index = this.expr(e.index, scope);
        return this.node(e.loc, [object, index], { t: 'index', object, index });
      }
      case 'slice': {
        const object = this.expr(e.object, scope);
        const from = this.expr(e.from, scope);
        const to = this.expr(e.to, scope);
        return this.node(e.loc, [object, from, to], { t: 'slice', object, from, to });
      }
      case 'method':
        return this.method(e, scope);
    }
  }

  private pathNode(loc: Loc, parts: PathPart[]): Node {
    return this.node(
      loc,
      parts.filter((p): p is Node => typeof p !== 'string'),
      { t: 'path', parts },
    );
  }

  private pathParts(segments: ({ text: string } | { expr: SyntaxExpr })[], scope: ExprScope): PathPart[] {
    return segments.map((s) => ('text' in s ? s.text : this.expr(s.expr, scope)));
  }

  private isNamespace(name: string, scope: ExprScope): boolean {
    return Object.hasOwn(NAMESPACE_FUNCTIONS, name) && !scope.locals?.has(name) && !scope.block.wildcards.has(name);
  }

  private identifier(name: string, loc: Loc, scope: ExprScope): Node {
    const slot = scope.locals?.get(name);
    if (slot !== undefined) return this.node(loc, [], { t: 'local', slot, name });
    const index = scope.block.wildcards.get(name);
    if (index !== undefined) return this.node(loc, [], { t: 'wildcard', index, name });
    if (name === 'request') return this.node(loc, [], { t: 'request' });
    if (name === 'resource') return this.node(loc, [], { t: 'resource' });
    if (Object.hasOwn(NAMESPACE_FUNCTIONS, name)) fail(`${name} is a namespace of functions, not a value`, loc);
    return fail(`unknown variable '${name}'`, loc);
  }

  private lookupFunction(name: string, block: Block): FunctionEntry | undefined {
    for (let b: Block | null = block; b; b = b.parent) {
      const entry = b.functions.get(name);
      if (entry) return entry;
    }
    return undefined;
  }

  private call(e: Extract<SyntaxExpr, { kind: 'call' }>, scope: ExprScope): Node {
    const args = e.args.map((a) => this.expr(a, scope));
    const entry = this.lookupFunction(e.name, scope.block);
    if (entry) {
      if (args.length !== entry.decl.params.length) {
        fail(`function ${e.name} takes ${entry.decl.params.length} arguments, not ${args.length}`, e.loc);
      }
      if (scope.caller) scope.caller.calls.push({ callee: entry, loc: e.loc });
      return this.node(e.loc, args, { t: 'call', fn: entry.compiled, args });
    }
    // Own names only: `constructor(1)` is an unknown function, not Object's constructor.
    const arities = Object.hasOwn(GLOBAL_FUNCTIONS, e.name) ? GLOBAL_FUNCTIONS[e.name] : undefined;
    if (!arities) fail(`unknown function '${e.name}'`, e.loc);
    if (!arities.includes(args.length)) fail(`${e.name}() takes ${arities.join(' or ')} arguments, not ${args.length}`, e.loc);
    return this.node(e.loc, args, { t: 'builtin', name: e.name, args });
  }

  private method(e: Extract<SyntaxExpr, { kind: 'method' }>, scope: ExprScope): Node {
    if (e.object.kind === 'ident' && this.isNamespace(e.object.name, scope)) {
      const functions = NAMESPACE_FUNCTIONS[e.object.name];
      const arities = Object.hasOwn(functions, e.name) ? functions[e.name] : undefined;
      if (!arities) fail(`unknown function '${e.object.name}.${e.name}' (${e.object.name} has ${Object.keys(functions).join(', ')})`, e.loc);
      const args = e.args.map((a) => this.expr(a, scope));
      if (!arities.includes(args.length)) fail(`${e.object.name}.${e.name}() takes ${arities.join(' or ')} arguments, not ${args.length}`, e.loc);
      return this.node(e.loc, args, { t: 'namespace', namespace: e.object.name, name: e.name, args });
    }
    const arities = METHOD_ARITIES.get(e.name);
    if (!arities) fail(`unknown method '${e.name}()'`, e.loc);
    if (!arities.has(e.args.length)) fail(`method ${e.name}() takes ${[...arities].join(' or ')} arguments, not ${e.args.length}`, e.loc);
    if (e.name === 'bind' && e.object.kind === 'path') return this.bindPath(e.object, e.args[0], e.loc, scope);
    const object = this.expr(e.object, scope);
    const args = e.args.map((a) => this.expr(a, scope));
    return this.node(e.loc, [object, ...args], { t: 'method', object, name: e.name, args });
  }

  /** `/path/$(a)/$(b).bind(map)`: interpolations naming no variable in scope stay open until bind() fills them. */
  private bindPath(path: Extract<SyntaxExpr, { kind: 'path' }>, bindingsExpr: SyntaxExpr, loc: Loc, scope: ExprScope): Node {
    const parts = path.segments.map((s) => {
      if ('text' in s) return s.text;
      if (s.expr.kind === 'ident' && this.isOpen(s.expr.name, scope)) return { hole: s.expr.name };
      return this.expr(s.expr, scope);
    });
    const bindings = this.expr(bindingsExpr, scope);
    const children = [...parts.filter((p): p is Node => typeof p === 'object' && !('hole' in p)), bindings];
    return this.node(loc, children, { t: 'bindPath', parts, bindings });
  }

  private isOpen(name: string, scope: ExprScope): boolean {
    return !scope.locals?.has(name) && !scope.block.wildcards.has(name) && name !== 'request' && name !== 'resource';
  }
}
