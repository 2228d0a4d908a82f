/**
 * The offline Firestore emulator, in-process: gRPC (google.firestore.v1.Firestore) and the emulator's HTTP/1.1
 * endpoints on one port, over an in-memory engine. Used by the test suite's global setup and by the CLI.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { createEngine, Engine, IndexConfiguration } from './engine';
import { documentsForProject, firestoreExportOf, readExport, writeFirebaseExport } from './export';
import { compileRules, RulesCompileError, RulesFile } from './rules';
import { AccessDecisionLog } from './server/access-decision-log';
import { EmulatorState } from './server/emulator-state';
import { createGrpcServer } from './server/grpc-service';
import { createHttpFront } from './server/http-front';
import { listenOnOnePort } from './server/one-port-listener';
import { createRestHandler } from './server/rest';

export interface EmulatorOptions {
  /** Interface to bind. Default 127.0.0.1: the emulator only listens on loopback unless told otherwise. */
  host?: string;
  /** Default 8080; 0 picks a free port (see `port` on the result). */
  port?: number;
  /** A rules file applied to every project until a client loads its own (as `firebase.json`'s rules are). */
  rulesFile?: string;
  /** A `firestore.indexes.json` every query of every project must be served by, as in production: a query that
   *  needs an index it does not declare fails with FAILED_PRECONDITION. Default: none (no index is required,
   *  as in Google's emulator). */
  indexesFile?: string;
  /** A Firebase CLI export directory (`firebase emulators:export`, `--export-on-exit`): every project's
   *  `(default)` database starts with its Firestore documents, as with `firebase emulators:start --import`.
   *  Read and checked whole before the port opens; an unreadable export fails the start. */
  importDirectory?: string;
  /** Host names HTTP requests may carry besides loopback ones (and `host` itself); any other Host gets 403, so a
   *  DNS-rebinding page cannot reach the emulator. */
  allowedHosts?: string[];
  /** TTL deletion (`POST /emulator/v1/projects/{id}:runTtl`, our extension) deletes a document once its TTL
   *  field is this much older than the clock. Default 0: every expired document goes on the next run. */
  ttlDelayMs?: number;
}

export interface RunningEmulator {
  host: string;
  port: number;
  /** The in-memory engine behind the server, for in-process inspection. */
  engine: Engine;
  /** The loaded `indexesFile` (null without one); `unusedIndexes()` lists the declared indexes no query used. */
  indexes: IndexConfiguration | null;
  /** How many documents the import holds (0 without `importDirectory`, or when it has no Firestore data). */
  importedDocuments: number;
  /** Writes the project's `(default)` database into a Firebase CLI export directory (what
   *  `firebase emulators:export DIR` writes for Firestore), keeping the other emulators' parts of it. */
  exportTo(directory: string, projectId: string, now?: () => number): void;
  /** Closes the port and every open connection and stream. */
  stop(): Promise<void>;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8080;
  const startupRules = options.rulesFile ? readRulesFile(options.rulesFile) : null;
  if (startupRules) checkCompiles(startupRules);
  const indexes = options.indexesFile ? IndexConfiguration.fromFile(options.indexesFile) : null;

  const metadataFile = options.importDirectory ? firestoreExportOf(options.importDirectory) : null;
  const imported = metadataFile ? readExport(metadataFile) : null;

  const decisions = new AccessDecisionLog();
  const engine = createEngine({
    onAccessDecision: (projectId, report) => decisions.record(projectId, report),
    seed: imported ? (projectId) => documentsForProject(imported, projectId) : undefined,
    ttlDelayMs: options.ttlDelayMs,
  });
  const state = new EmulatorState(engine, startupRules, decisions, indexes);
  const http = createHttpFront(state, [host, ...(options.allowedHosts ?? [])], createRestHandler(state));
  const listener = await listenOnOnePort(host, port, createGrpcServer(state), http.handle);
  return {
    host,
    port: listener.port,
    engine,
    indexes,
    importedDocuments: imported?.documents.length ?? 0,
    exportTo: (directory, projectId, now = Date.now) => {
      const database = engine.database(projectId, '(default)');
      writeFirebaseExport(directory, { projectId, databaseId: '(default)' }, database.exportDocuments(), now);
    },
    stop: async () => {
      http.close();
      await listener.close();
    },
  };
}

/** Fails at start, not at the first request, when the rules file does not compile. */
function checkCompiles(files: RulesFile[]): void {
  try {
    compileRules(files);
  } catch (error) {
    if (!(error instanceof RulesCompileError)) throw error;
    throw new Error(`${files[0].name}:${error.line}:${error.column}: ${error.message}`, { cause: error });
  }
}

function readRulesFile(file: string): RulesFile[] {
  return [{ name: path.basename(file), content: readFileSync(file, 'utf8') }];
}

export { createEngine } from './engine';
export type { DeclaredIndex, DocumentContents, Engine, IndexConfiguration, IndexFile, TtlPolicy, TtlRun, Value } from './engine';
export { ExportFormatError, exportFiles, firebaseMetadataEntry, FIRESTORE_EXPORT_NAME, readExport } from './export';
