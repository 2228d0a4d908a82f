/**
 * One suite, two drivers. If FIRESTORE_EMULATOR_HOST already names an emulator (Google's, started by
 * `npm run test:emulator`), the tests run against it. Otherwise the offline emulator is started in-process on
 * a free port, and the variable is set before the test workers fork, so every SDK in them finds it.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  // firebase-admin would otherwise probe for a Google Cloud metadata server in every worker.
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  if (process.env.FIRESTORE_EMULATOR_HOST) return;
  const { startEmulator } = await import('@leadpulse/firestore-emulator');
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0 });
  process.env.FIRESTORE_EMULATOR_HOST = `${emulator.host}:${emulator.port}`;
  process.env.LEADPULSE_OFFLINE_EMULATOR = '1';
  return () => emulator.stop();
}
