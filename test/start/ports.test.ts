/**
 * `npm start`'s port check: a busy port is one line naming the emulator, the address and where to change it.
 */
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertPortsFree, PortBusyError } from '../../scripts/ports';

let holder: Server;
let busyPort: number;

beforeAll(async () => {
  holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  busyPort = (holder.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => holder.close(() => resolve())));

describe('assertPortsFree', () => {
  it('passes when every planned port can be bound, and leaves them free', async () => {
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const port = (free.address() as AddressInfo).port;
    await new Promise<void>((resolve) => free.close(() => resolve()));
    await expect(assertPortsFree([{ name: 'Auth emulator', host: '127.0.0.1', port }])).resolves.toBeUndefined();
    await expect(assertPortsFree([{ name: 'Auth emulator', host: '127.0.0.1', port }])).resolves.toBeUndefined();
  });

  it('names the first busy one in a single line', async () => {
    const error = await assertPortsFree([{ name: 'Firestore emulator', host: '127.0.0.1', port: busyPort }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortBusyError);
    const message = (error as Error).message;
    expect(message).toBe(
      `127.0.0.1:${busyPort} (Firestore emulator) is already in use: stop what holds it (\`lsof -i :${busyPort}\`) or change its port in firebase.json.`,
    );
    expect(message).not.toContain('\n');
  });
});
