/**
 * The offline Firestore emulator, in-process: gRPC (google.firestore.v1.Firestore) and the emulator's HTTP/1.1
 * endpoints on one port, over an in-memory engine. Used by the test suite's global setup and by the CLI.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { createEngine, Engine } from './engine';
import { compileRules, RulesCompileError, RulesFile } from './rules';
import { AccessDecisionLog } from './server/access-decision-log';
import { EmulatorState } from './server/emulator-state';
import { createGrpcServer } from './server/grpc-service';
import { listenOnOnePort } from './server/one-port-listener';
import { createRestHandler } from './server/rest';

export interface EmulatorOptions {
  /** Interface to bind. Default 127.0.0.1: the emulator only listens on loopback unless told otherwise. */
  host?: string;
  /** Default 8080; 0 picks a free port (see `port` on the result). */
  port?: number;
  /** A rules file applied to every project until a client loads its own (as `firebase.json`'s rules are). */
  rulesFile?: string;
}

export interface RunningEmulator {
  host: string;
  port: number;
  /** The in-memory engine behind the server, for in-process inspection. */
  engine: Engine;
  /** Closes the port and every open connection and stream. */
  stop(): Promise<void>;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8080;
  const startupRules = options.rulesFile ? readRulesFile(options.rulesFile) : null;
  if (startupRules) checkCompiles(startupRules);

  const decisions = new AccessDecisionLog();
  const engine = createEngine({ onAccessDecision: (projectId, report) => decisions.record(projectId, report) });
  const state = new EmulatorState(engine, startupRules, decisions);
  const listener = await listenOnOnePort(host, port, createGrpcServer(state), createRestHandler(state));
  return { host, port: listener.port, engine, stop: () => listener.close() };
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

export type { Engine } from './engine';
