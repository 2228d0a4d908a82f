/**
 * The rules engine's entry point, as the server uses it: `compileRules` turns the rules files a client PUTs to
 * `/emulator/v1/projects/{id}:securityRules` into an AccessPolicy, or throws RulesCompileError naming line and
 * column. Until the evaluator lands, every non-owner request is denied (never allowed).
 */
import { AccessPolicy, AccessDecision } from '../engine/api';

export interface RulesFile {
  name: string;
  content: string;
}

export class RulesCompileError extends Error {
  constructor(message: string, readonly line: number, readonly column: number) {
    super(message);
    this.name = 'RulesCompileError';
  }
}

export interface CompiledRules {
  policy: AccessPolicy;
  /** JSON for `GET /emulator/v1/projects/{id}:ruleCoverage`. */
  coverageReport(): unknown;
}

export function compileRules(_files: RulesFile[]): CompiledRules {
  const deny = (method: string) => (): AccessDecision => ({
    allowed: false,
    lookups: 0,
    message: `${method} denied: the rules evaluator is not implemented yet, so loaded rules deny every client request`,
  });
  return {
    policy: { authorizeGet: deny('get'), authorizeQuery: deny('list'), authorizeWrites: deny('write') },
    coverageReport: () => ({ rules: { files: [] }, report: [] }),
  };
}
