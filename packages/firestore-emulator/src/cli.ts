/**
 * Starts the offline Firestore emulator as a command:
 *   tsx packages/firestore-emulator/src/cli.ts [--host 127.0.0.1] [--port 8080] [--rules firestore.rules]
 * and runs until interrupted.
 */
import { parseArgs } from 'util';
import { z } from 'zod';
import { startEmulator } from './index';

const Options = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  rules: z.string().min(1).optional(),
  import: z.string().min(1).optional(),
  'allow-host': z.array(z.string().min(1)).default([]),
});

const USAGE = 'usage: firestore-emulator [--host 127.0.0.1] [--port 8080] [--rules firestore.rules] [--allow-host name]...';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      rules: { type: 'string' },
      import: { type: 'string' },
      'allow-host': { type: 'string', multiple: true },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const parsed = Options.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`--${issue.path.join('.')}: ${issue.message}\n${USAGE}`);
  }
  const options = parsed.data;
  if (options.import) {
    throw new Error('--import (seed data in the `firebase emulators:export` format) is not implemented yet');
  }
  const emulator = await startEmulator({
    host: options.host,
    port: options.port,
    rulesFile: options.rules,
    allowedHosts: options['allow-host'],
  });
  const address = `${emulator.host}:${emulator.port}`;
  console.log(`Offline Firestore emulator listening on ${address} (gRPC, REST, WebChannel)`);
  console.log(`  data viewer: http://${address}/`);
  console.log(`  export FIRESTORE_EMULATOR_HOST=${address}`);
  if (options.rules) console.log(`  rules: ${options.rules} (for every project until a client loads its own)`);
  const shutdown = (): void => {
    void emulator.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
