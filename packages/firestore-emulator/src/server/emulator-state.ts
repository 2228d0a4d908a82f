/**
 * What the gRPC and REST sides share: the engine, the rules each project has loaded, and the decision log.
 * Rules given at start-up (`--rules`) apply to every project until a client PUTs its own, as in Google's
 * emulator; they are compiled separately for each project so coverage stays per project.
 */
import type { Database, Engine } from '../engine';
import { compileRules, CompiledRules, RulesFile } from '../rules';
import { AccessDecisionLog } from './access-decision-log';

export class EmulatorState {
  /** Projects seen so far, with their compiled rules (null: no rules loaded, open access). */
  private readonly rulesByProject = new Map<string, CompiledRules | null>();
  /** Database ids each project has used, for the data viewer. */
  private readonly databasesByProject = new Map<string, Set<string>>();

  constructor(
    readonly engine: Engine,
    private readonly startupRules: RulesFile[] | null,
    readonly decisions: AccessDecisionLog,
  ) {}

  database(projectId: string, databaseId: string): Database {
    this.ensureProject(projectId);
    let databases = this.databasesByProject.get(projectId);
    if (!databases) this.databasesByProject.set(projectId, (databases = new Set()));
    databases.add(databaseId);
    return this.engine.database(projectId, databaseId);
  }

  /** Every project a request has named, with the databases it used and whether it has rules loaded. */
  projects(): { projectId: string; databases: string[]; rulesLoaded: boolean }[] {
    return [...this.rulesByProject].map(([projectId, rules]) => ({
      projectId,
      databases: [...(this.databasesByProject.get(projectId) ?? [])].sort(),
      rulesLoaded: rules !== null,
    }));
  }

  loadRules(projectId: string, rules: CompiledRules): void {
    this.rulesByProject.set(projectId, rules);
    this.engine.setAccessPolicy(projectId, rules.policy);
  }

  rulesOf(projectId: string): CompiledRules | null {
    this.ensureProject(projectId);
    return this.rulesByProject.get(projectId) ?? null;
  }

  clearDocuments(projectId: string, databaseId: string): void {
    this.ensureProject(projectId);
    this.engine.clearDatabase(projectId, databaseId);
  }

  private ensureProject(projectId: string): void {
    if (this.rulesByProject.has(projectId)) return;
    if (this.startupRules) this.loadRules(projectId, compileRules(this.startupRules));
    else this.rulesByProject.set(projectId, null);
  }
}
