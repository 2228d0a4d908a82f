/**
 * The local backend the browser suite runs against, as `npm start` runs it: the offline Firestore emulator with
 * firestore.rules and the demo seed, and firebase-tools' Auth emulator (pure Node, in-process) with the demo
 * users. The Firestore emulator can be stopped and started again on the same port (the reconnect scenario).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteApp, initializeApp } from 'firebase-admin/app';
import { getAuth } from 'firebase-admin/auth';
import { startEmulator, type RunningEmulator } from '@leadpulse/firestore-emulator';
import { paths } from '@leadpulse/model';
import { z } from 'zod';
import { demoPassword, demoProjectId, demoUsers } from '../../../scripts/seed-data';
import { writeEmulatorData } from '../../../scripts/seed';
import { startAuthEmulator, type RunningAuthEmulator } from '../../support/auth-emulator';

const rulesFile = join(__dirname, '..', '..', '..', 'firestore.rules');

/** The REST API's list response, as far as `contactIds` reads it. */
const contactListSchema = z.object({
  documents: z.array(z.object({ name: z.string() })).optional(),
  nextPageToken: z.string().optional(),
});

export class LocalBackend {
  readonly projectId = demoProjectId;
  /** The `(default)` database's resource name, as the REST API takes it. */
  readonly databaseName = `projects/${demoProjectId}/databases/(default)`;
  readonly password = demoPassword;
  readonly users = demoUsers;
  private firestore: RunningEmulator | undefined;
  private auth: RunningAuthEmulator | undefined;

  private constructor(
    readonly firestorePort: number,
    /** emulator-data/ as the committed seed writes it, which each start imports. */
    private readonly seedDirectory: string,
  ) {}

  static async start(): Promise<LocalBackend> {
    const seedDirectory = mkdtempSync(join(tmpdir(), 'leadpulse-browser-seed-'));
    writeEmulatorData(seedDirectory);
    const backend = new LocalBackend(await freePort(), seedDirectory);
    await backend.startFirestore();
    await backend.startAuth();
    return backend;
  }

  get firestoreHost(): string {
    return `127.0.0.1:${this.firestorePort}`;
  }

  get authUrl(): string {
    if (!this.auth) throw new Error('the Auth emulator is not running');
    return `http://${this.auth.host}`;
  }

  /**
   * Starts the Firestore emulator (again) on its port, with the rules and the demo seed, as `npm start` does: the
   * seed is imported before the port opens, so a client that reconnects at once never meets an empty database.
   */
  async startFirestore(): Promise<void> {
    this.firestore = await startEmulator({ host: '127.0.0.1', port: this.firestorePort, rulesFile, importDirectory: this.seedDirectory });
  }

  async stopFirestore(): Promise<void> {
    await this.firestore?.stop();
    this.firestore = undefined;
  }

  /** An emulator endpoint's URL, e.g. `/emulator/v1/projects/{id}:rulesDecisions`. */
  firestoreUrl(path: string): string {
    return `http://${this.firestoreHost}${path}`;
  }

  /**
   * Another client's write, through the REST API as the owner (rules bypassed), as a Cloud Function would write:
   * a contact with `createdAt`/`updatedAt` set to the commit time. Returns its id.
   */
  async createContactAsOwner(orgId: string, contactId: string, fields: { name: string; status: string; createdBy: string; notes?: string }): Promise<string> {
    const name = `${this.databaseName}/documents/${paths.contact(orgId, contactId)}`;
    const response = await fetch(this.firestoreUrl(`/v1/${this.databaseName}/documents:commit`), {
      method: 'POST',
      headers: { authorization: 'Bearer owner', 'content-type': 'application/json' },
      body: JSON.stringify({
        writes: [
          {
            update: { name, fields: Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, { stringValue: value }])) },
            updateTransforms: ['createdAt', 'updatedAt'].map((fieldPath) => ({ fieldPath, setToServerValue: 'REQUEST_TIME' })),
          },
        ],
      }),
    });
    if (!response.ok) throw new Error(`commit failed: ${response.status} ${await response.text()}`);
    return contactId;
  }

  /** The ids of an organization's contacts as the emulator holds them (read as the owner), sorted. */
  async contactIds(orgId: string): Promise<string[]> {
    const response = await fetch(this.firestoreUrl(`/v1/${this.databaseName}/documents/${paths.contacts(orgId)}?pageSize=1000&mask.fieldPaths=name`), {
      headers: { authorization: 'Bearer owner' },
    });
    if (!response.ok) throw new Error(`list failed: ${response.status} ${await response.text()}`);
    const listed = contactListSchema.parse(await response.json());
    if (listed.nextPageToken) throw new Error('more contacts than one page');
    return (listed.documents ?? []).map((document) => document.name.slice(document.name.lastIndexOf('/') + 1)).sort();
  }

  async stop(): Promise<void> {
    await this.stopFirestore();
    rmSync(this.seedDirectory, { recursive: true, force: true });
    await this.auth?.stop();
  }

  private async startAuth(): Promise<void> {
    this.auth = await startAuthEmulator(this.projectId);
    const previous = process.env.FIREBASE_AUTH_EMULATOR_HOST;
    process.env.FIREBASE_AUTH_EMULATOR_HOST = this.auth.host;
    const admin = initializeApp({ projectId: this.projectId }, `browser-suite-auth-${Date.now()}`);
    try {
      for (const user of this.users) {
        await getAuth(admin).createUser({ uid: user.uid, email: user.email, password: this.password, displayName: user.displayName, emailVerified: true });
      }
    } finally {
      await deleteApp(admin);
      restoreEnv('FIREBASE_AUTH_EMULATOR_HOST', previous);
    }
  }
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
