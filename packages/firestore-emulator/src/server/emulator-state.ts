/**
 * What the gRPC and REST sides share: the engine, the rules and indexes each project has loaded, and the
 * decision log. Rules given at start-up (`--rules`) apply to every project until a client PUTs its own, as in
 * Google's emulator; they are compiled separately for each project so coverage stays per project. Indexes given
 * at start-up (`--indexes`) likewise, until a client PUTs or DELETEs its own (our extension); one configuration
 * object serves those projects, so it records index use across all of them.
 */
import type { Database, Engine, IndexConfiguration, TtlRun } from '../engine';
import { compileRules, CompiledRules, RulesFile } from '../rules';
import { AccessDecisionLog } from './access-decision-log';

export class EmulatorState {
  /** Projects seen so far, with their compiled rules (null: no rules loaded, open access). */
  private readonly rulesByProject = new Map<string, CompiledRules | null>();
  /** Projects' index configurations (null: no index required). */
  private readonly indexesByProject = new Map<string, IndexConfiguration | null>();
  /** Database ids each project has used, for the data viewer. */
  private readonly databasesByProject = new Map<string, Set<string>>();

  constructor(
    readonly engine: Engine,
    private readonly startupRules: RulesFile[] | null,
    readonly decisions: AccessDecisionLog,
    private readonly startupIndexes: IndexConfiguration | null = null,
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
    this.ensureIndexes(projectId);
    this.rulesByProject.set(projectId, rules);
    this.engine.setAccessPolicy(projectId, rules.policy);
  }

  rulesOf(projectId: string): CompiledRules | null {
    this.ensureProject(projectId);
    return this.rulesByProject.get(projectId) ?? null;
  }

  loadIndexes(projectId: string, indexes: IndexConfiguration | null): void {
    this.indexesByProject.set(projectId, indexes);
    this.engine.setIndexConfiguration(projectId, indexes);
  }

  indexesOf(projectId: string): IndexConfiguration | null {
    this.ensureProject(projectId);
    return this.indexesByProject.get(projectId) ?? null;
  }

  /** One TTL pass over the project's databases, with the indexes it has loaded (start-up ones included). */
  runTtl(projectId: string, now?: number): Promise<TtlRun> {
    this.ensureProject(projectId);
    return this.engine.runTtl(projectId, { now });
  }

  clearDocuments(projectId: string, databaseId: string): void {
    this.ensureProject(projectId);
    this.engine.clearDatabase(projectId, databaseId);
  }

  /** A project's first request may load its rules: the start-up indexes apply to it all the same. */
  private ensureIndexes(projectId: string): void {
    if (this.indexesByProject.has(projectId)) return;
    this.indexesByProject.set(projectId, this.startupIndexes);
    this.engine.setIndexConfiguration(projectId, this.startupIndexes);
  }

  private ensureProject(projectId: string): void {
    this.ensureIndexes(projectId);
    if (this.rulesByProject.has(projectId)) return;
    if (this.startupRules) this.loadRules(projectId, compileRules(this.startupRules));
    else this.rulesByProject.set(projectId, null);
  }
}
