/**
 * `npm run bench [name]`: runs every bench/*.bench.ts module (or those whose name contains `name`), each in a
 * fresh process so that one benchmark's memory and warm-up do not colour another's figures; each prints its own.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

function main(): void {
  const only = process.argv[2];
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts') && (!only || f.includes(only)))
    .sort();
  // firebase-admin would otherwise probe for a Google Cloud metadata server.
  const env = { ...process.env, METADATA_SERVER_DETECTION: process.env.METADATA_SERVER_DETECTION ?? 'none' };
  for (const file of files) {
    console.log(`\n=== ${file} ===`);
    const script = `require(${JSON.stringify(join(__dirname, file))}).run().catch((e) => { console.error(e); process.exitCode = 1; })`;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { stdio: 'inherit', env });
    if (result.status !== 0) process.exitCode = 1;
  }
}

main();
