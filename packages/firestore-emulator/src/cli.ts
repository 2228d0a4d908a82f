/**
 * Starts the offline Firestore emulator as a command:
 *   tsx packages/firestore-emulator/src/cli.ts [--host 127.0.0.1] [--port 8080] [--rules firestore.rules]
 *     [--indexes firestore.indexes.json] [--import DIR] [--export-on-exit DIR --project ID]
 * and runs until interrupted (then exports, with --export-on-exit).
 */
import { parseArgs } from 'util';
import { z } from 'zod';
import { startEmulator } from './index';

const Options = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(8080),
    rules: z.string().min(1).optional(),
    indexes: z.string().min(1).optional(),
    import: z.string().min(1).optional(),
    'export-on-exit': z.string().min(1).optional(),
    project: z
      .string()
      .regex(/^[^/]+$/, 'a project id')
      .optional(),
    'allow-host': z.array(z.string().min(1)).default([]),
  })
  .refine((options) => !options['export-on-exit'] || options.project, {
    error: 'names the project whose (default) database is exported',
    path: ['project'],
  });

const USAGE =
  'usage: firestore-emulator [--host 127.0.0.1] [--port 8080] [--rules firestore.rules] [--indexes firestore.indexes.json] ' +
  '[--import DIR] [--export-on-exit DIR --project ID] [--allow-host name]...';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      rules: { type: 'string' },
      indexes: { type: 'string' },
      import: { type: 'string' },
      'export-on-exit': { type: 'string' },
      project: { type: 'string' },
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
  const emulator = await startEmulator({
    host: options.host,
    port: options.port,
    rulesFile: options.rules,
    indexesFile: options.indexes,
    importDirectory: options.import,
    allowedHosts: options['allow-host'],
  });
  const address = `${emulator.host}:${emulator.port}`;
  console.log(`Offline Firestore emulator listening on ${address} (gRPC, REST, WebChannel)`);
  console.log(`  data viewer: http://${address}/`);
  console.log(`  export FIRESTORE_EMULATOR_HOST=${address}`);
  if (options.rules) console.log(`  rules: ${options.rules} (for every project until a client loads its own)`);
  if (options.indexes) console.log(`  indexes: ${options.indexes} (queries need the indexes it declares, as in production)`);
  if (options.import) console.log(`  imported: ${emulator.importedDocuments} documents from ${options.import} (every project's (default) database)`);
  const exportDirectory = options['export-on-exit'];
  const shutdown = (): void => {
    if (exportDirectory && options.project) {
      emulator.exportTo(exportDirectory, options.project);
      console.log(`Exported projects/${options.project}/databases/(default) to ${exportDirectory}`);
    }
    void emulator.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
