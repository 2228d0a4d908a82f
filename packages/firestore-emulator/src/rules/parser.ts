/** Parses rules source with the peggy grammar in grammar.peggy (generated once per process). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as peggy from 'peggy';
import type { SyntaxRuleset } from './ast';
import { RulesCompileError } from './errors';

let parser: peggy.Parser | undefined;

function grammarParser(): peggy.Parser {
  parser ??= peggy.generate(readFileSync(join(__dirname, 'grammar.peggy'), 'utf8'));
  return parser;
}

export function parseRules(source: string): SyntaxRuleset {
  const grammar = grammarParser();
  try {
    // eslint-disable-next-line @typescript-eslint/consistent-type-assertions -- a peggy parser returns `any`: what grammar.peggy's actions build, the SyntaxRuleset of ast.ts
    return grammar.parse(source) as SyntaxRuleset;
  } catch (error) {
    if (error instanceof grammar.SyntaxError) {
      const { start } = error.location;
      throw new RulesCompileError(`syntax error: ${error.message}`, start.line, start.column);
    }
    throw error;
  }
}
