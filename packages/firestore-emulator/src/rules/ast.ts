/** The syntax tree grammar.peggy produces. Positions are 1-based line/column plus source offsets. */

export interface Loc {
  line: number;
  column: number;
  start: number;
  end: number;
}

export type BinaryOp = '||' | '&&' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | '+' | '-' | '*' | '/' | '%';

export type SyntaxExpr =
  | { kind: 'literal'; value: string | boolean | null | { float: number }; loc: Loc }
  | { kind: 'int'; value: bigint; text: string; loc: Loc }
  | { kind: 'bytes'; parts: ({ byte: number } | { text: string })[]; loc: Loc }
  | { kind: 'ident'; name: string; loc: Loc }
  | { kind: 'call'; name: string; args: SyntaxExpr[]; loc: Loc }
  | { kind: 'path'; segments: ({ text: string } | { expr: SyntaxExpr })[]; loc: Loc }
  | { kind: 'list'; items: SyntaxExpr[]; loc: Loc }
  | { kind: 'map'; entries: { key: SyntaxExpr; value: SyntaxExpr }[]; loc: Loc }
  | { kind: 'unary'; op: '!' | '-'; operand: SyntaxExpr; loc: Loc }
  | { kind: 'binary'; op: BinaryOp; left: SyntaxExpr; right: SyntaxExpr; loc: Loc }
  | { kind: 'ternary'; test: SyntaxExpr; consequent: SyntaxExpr; alternate: SyntaxExpr; loc: Loc }
  | { kind: 'is'; operand: SyntaxExpr; type: string; typeLoc: Loc; loc: Loc }
  | { kind: 'member'; object: SyntaxExpr; name: string; loc: Loc }
  | { kind: 'method'; object: SyntaxExpr; name: string; args: SyntaxExpr[]; loc: Loc }
  | { kind: 'index'; object: SyntaxExpr; index: SyntaxExpr; loc: Loc }
  | { kind: 'slice'; object: SyntaxExpr; from: SyntaxExpr; to: SyntaxExpr; loc: Loc };

export type MatchSegment =
  { kind: 'literal'; text: string; loc: Loc } | { kind: 'wildcard'; name: string; loc: Loc } | { kind: 'recursive'; name: string; loc: Loc };

export interface SyntaxMatch {
  kind: 'match';
  path: MatchSegment[];
  body: SyntaxBodyItem[];
  loc: Loc;
}

export interface SyntaxAllow {
  kind: 'allow';
  methods: { name: string; loc: Loc }[];
  condition: SyntaxExpr | null;
  loc: Loc;
}

export interface SyntaxFunction {
  kind: 'function';
  name: string;
  params: { name: string; loc: Loc }[];
  lets: { name: string; value: SyntaxExpr; loc: Loc }[];
  body: SyntaxExpr;
  loc: Loc;
}

export type SyntaxBodyItem = SyntaxMatch | SyntaxAllow | SyntaxFunction;

export interface SyntaxService {
  name: string;
  body: SyntaxBodyItem[];
  loc: Loc;
}

export interface SyntaxRuleset {
  version: { value: string; loc: Loc } | null;
  services: SyntaxService[];
  /** Functions declared at file level, outside any service: visible in every service. */
  functions: SyntaxFunction[];
}
