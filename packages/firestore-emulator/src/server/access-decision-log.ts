/**
 * The recent rules decisions of each project, with the document lookups each one cost. Google's emulator has no
 * such figure; ours serves it at `GET /emulator/v1/projects/{id}:rulesDecisions` so test suites and benchmarks
 * can report what their rules cost.
 */
import type { AccessDecisionReport } from '../engine';

export interface LoggedDecision extends AccessDecisionReport {
  /** Increasing per project; pass the last one seen as `since` to get only newer decisions. */
  seq: number;
  /** When the decision was made (ISO 8601). */
  time: string;
}

/** Per project, older decisions are dropped beyond this many so a long session stays bounded. */
const KEPT_PER_PROJECT = 10_000;

export class AccessDecisionLog {
  private readonly byProject = new Map<string, { nextSeq: number; entries: LoggedDecision[] }>();

  record(projectId: string, report: AccessDecisionReport): void {
    let log = this.byProject.get(projectId);
    if (!log) {
      log = { nextSeq: 1, entries: [] };
      this.byProject.set(projectId, log);
    }
    log.entries.push({ ...report, seq: log.nextSeq++, time: new Date().toISOString() });
    if (log.entries.length > KEPT_PER_PROJECT) log.entries.splice(0, log.entries.length - KEPT_PER_PROJECT);
  }

  /** Decisions with `seq` greater than `since`, oldest first. */
  list(projectId: string, since = 0): LoggedDecision[] {
    return (this.byProject.get(projectId)?.entries ?? []).filter((entry) => entry.seq > since);
  }

  clear(projectId: string): void {
    this.byProject.delete(projectId);
  }
}
