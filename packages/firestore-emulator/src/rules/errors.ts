/** A ruleset the engine refuses to load: a syntax error, an unsupported construct, or a broken limit. */
export class RulesCompileError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
    this.name = 'RulesCompileError';
  }
}
