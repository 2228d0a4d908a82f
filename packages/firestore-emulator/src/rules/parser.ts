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
  try {
    return grammarParser().parse(source) as SyntaxRuleset;
  } catch (error) {
    if (error instanceof Error && 'location' in error && error.name === 'SyntaxError') {
      const { start } = (error as peggy.parser.SyntaxError).location;
      throw new RulesCompileError(`syntax error: ${error.message}`, start.line, start.column);
    }
    throw error;
  }
}
