import * as logger from 'firebase-functions/logger';
import { InvalidStoredDocument } from './documents';

/**
 * Logs a failure so that Error Reporting groups it: the error's own stack goes in `stack_trace`, the field it
 * reads first (https://cloud.google.com/error-reporting/docs/formatting-error-messages), so occurrences group by
 * where the error was thrown; `message` stays a fixed text that log-based alerts match (docs/operations.md).
 */
export function logError(message: string, error: unknown, fields: Record<string, unknown> = {}): void {
  logger.error(message, { ...fields, ...errorFields(error) });
}

/** The fields of a logged failure: the operator's one line and the stack Error Reporting groups by. */
export function errorFields(error: unknown): { error: string; stack_trace: string } {
  const cause = error instanceof Error ? error : new Error(String(error));
  return { error: describeError(cause), stack_trace: cause.stack ?? `${cause.name}: ${cause.message}` };
}

/** One line an operator can act on: for an invalid stored document, its path and field. */
export function describeError(error: unknown): string {
  if (error instanceof InvalidStoredDocument) return `${error.path} is invalid at ${error.field}: ${error.reason}`;
  return error instanceof Error ? error.message : String(error);
}

/** The log message of every item a batch job passes over: one log-based alert covers them all. */
export const SKIPPED_ITEM_MESSAGE = 'batch job skipped an item';

/** An item (a document path, a ledger entry) a batch job could not read or process, and why. */
export interface SkippedItem {
  item: string;
  error: string;
}

/** Reports an item a batch job passes over (alertable log line) and returns its entry for the run's report. */
export function skipItem(job: string, item: string, error: unknown): SkippedItem {
  logError(SKIPPED_ITEM_MESSAGE, error, { job, item });
  return { item, error: describeError(error) };
}

/** The log message a scheduled job writes when a run ends: a log-based metric counts it, an alert fires on silence. */
export const HEARTBEAT_MESSAGE = 'schedule heartbeat';

export function logHeartbeat(job: string): void {
  logger.info(HEARTBEAT_MESSAGE, { job });
}
