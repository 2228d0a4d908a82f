/**
 * firebase-tools' own Auth emulator (pure Node, runs offline), started in-process on a free loopback port, as
 * `firebase emulators:start --only auth` runs it.
 */
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

/**
 * For a hook that starts it: building the emulator's app is CPU-bound, about 4 s on a quiet machine and over 25 s
 * on a loaded one.
 */
export const AUTH_EMULATOR_START_TIMEOUT_MS = 180_000;

interface AuthEmulatorApp {
  listen(port: number, host: string, callback: () => void): Server;
}

export interface RunningAuthEmulator {
  /** `127.0.0.1:{port}`, what FIREBASE_AUTH_EMULATOR_HOST takes. */
  host: string;
  stop(): Promise<void>;
}

export async function startAuthEmulator(projectId: string): Promise<RunningAuthEmulator> {
  const { createApp } = createRequire(__filename)('firebase-tools/lib/emulator/auth/server') as {
    createApp: (projectId: string) => Promise<AuthEmulatorApp>;
  };
  const app = await createApp(projectId);
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
