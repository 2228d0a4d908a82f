/**
 * The rules engine's entry point, as the server uses it: `compileRules` turns the rules file a client PUTs to
 * `/emulator/v1/projects/{id}:securityRules` into an AccessPolicy, or throws RulesCompileError naming line and
 * column. Parsing and name resolution happen here, once; requests only evaluate. See README.md in this folder
 * for what is supported and where the engine is knowingly stricter than Google's.
 */
import type { AccessPolicy } from '../engine/api';
import { compileProgram } from './compiler';
import { coverageReport } from './coverage';
import { RulesCompileError } from './errors';
import { parseRules } from './parser';
import { RulesPolicy } from './policy';

export { RulesCompileError };

export interface RulesFile {
  name: string;
  content: string;
}

export interface CompileOptions {
  /** Called with each line debug() prints (Google's emulator writes them to firestore-debug.log). */
  onDebug?: (line: string) => void;
  /** Record per-expression values for coverageReport() (default true, as Google's emulator does). */
  coverage?: boolean;
}

export interface CompiledRules {
  policy: AccessPolicy;
  /** JSON for `GET /emulator/v1/projects/{id}:ruleCoverage`. */
  coverageReport(): unknown;
  /** The last debug() lines (at most 1,000), oldest first. */
  debugLog(): string[];
  rulesVersion: '1' | '2';
}

const DEBUG_LOG_LINES = 1000;

export function compileRules(files: RulesFile[], options: CompileOptions = {}): CompiledRules {
  if (files.length !== 1) {
    throw new RulesCompileError(`expected exactly one rules file, got ${files.length}`, 1, 1);
  }
  const [file] = files;
  const program = withinStack(() => compileProgram(parseRules(file.content), file.name, file.content));
  const debugLines: string[] = [];
  const policy = new RulesPolicy(program, {
    recordCoverage: options.coverage ?? true,
    debug(line) {
      debugLines.push(line);
      if (debugLines.length > DEBUG_LOG_LINES) debugLines.shift();
      options.onDebug?.(line);
    },
  });
  return {
    policy,
    coverageReport: () => coverageReport(program),
    debugLog: () => [...debugLines],
    rulesVersion: program.version,
  };
}

/** Parsing and compiling recurse with the nesting of expressions: nesting deeper than the stack allows is refused. */
function withinStack<T>(compile: () => T): T {
  try {
    return compile();
  } catch (error) {
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      throw new RulesCompileError('expressions are nested too deeply to compile', 1, 1);
    }
    throw error;
  }
}
