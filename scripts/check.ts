/**
 * `npm run check`: everything CI proves, in one command (`.ci/run` runs it after `npm ci`). Each step is an npm
 * script; to add one, add its name below. Every step runs even after a failure, so one run reports them all.
 */
import { spawnSync } from 'node:child_process';

const steps = [
  'lint', // eslint (type-checked) and prettier --check
  'typecheck', // tsc over every TypeScript file
  'deploy:rehearse', // build, stage, production install, discovery vs deploy/functions-manifest.json
  'test:deploy', // the rehearsal's own tests (npm registry)
  'test', // the suite, offline
];

const results = steps.map((step) => {
  const started = Date.now();
  console.log(`\n=== npm run ${step}`);
  const { status } = spawnSync('npm', ['run', step], { stdio: 'inherit' });
  return { step, ok: status === 0, seconds: (Date.now() - started) / 1000 };
});

console.log('\n=== check');
for (const { step, ok, seconds } of results) console.log(`${ok ? 'ok    ' : 'FAILED'}  ${step.padEnd(16)} ${seconds.toFixed(0).padStart(4)} s`);
if (results.some((result) => !result.ok)) process.exitCode = 1;
