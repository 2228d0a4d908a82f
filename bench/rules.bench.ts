/**
 * Rules engine throughput, in-process: evaluations per second of a typical membership rule (one get() of the
 * caller's member document plus a role check), compiled once. Also a list query judged from its parent and a
 * validated create, for scale. Target for the membership get: >= 50,000/s on one core.
 */
import type { AccessPolicy, Document, DocumentReader, RequestContext } from '../packages/firestore-emulator/src/engine/api';
import { compileRules } from '../packages/firestore-emulator/src/rules';

const ROOT = 'projects/demo-bench/databases/(default)/documents';

const RULES = `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    function role(orgId) {
      return get(/databases/$(database)/documents/orgs/$(orgId)/members/$(request.auth.uid)).data.role;
    }
    match /orgs/{orgId}/contacts/{contactId} {
      allow read: if request.auth != null && role(orgId) in ['owner', 'admin', 'member', 'viewer'];
      allow create: if role(orgId) in ['owner', 'admin', 'member']
        && request.resource.data.keys().hasOnly(['name', 'email', 'createdBy', 'createdAt'])
        && request.resource.data.name is string && request.resource.data.name.size() <= 200
        && request.resource.data.createdBy == request.auth.uid
        && request.resource.data.createdAt == request.time;
    }
  }
}`;

/**
 * Runs `op` for about `seconds` and prints evaluations per second of wall-clock time and per second of this
 * process's CPU time (the per-core figure, which stays meaningful when other work shares the machine).
 */
function measure(label: string, seconds: number, op: () => boolean): void {
  for (let i = 0; i < 2_000; i++) op(); // warm-up
  let count = 0;
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  const end = start + BigInt(seconds * 1e9);
  let now = start;
  while (now < end) {
    for (let i = 0; i < 1_000; i++) if (!op()) throw new Error(`${label}: unexpected denial`);
    count += 1_000;
    now = process.hrtime.bigint();
  }
  const cpu = process.cpuUsage(cpuStart);
  const wall = Math.round(count / (Number(now - start) / 1e9));
  const perCpuSecond = Math.round(count / ((cpu.user + cpu.system) / 1e6));
  const format = (n: number) => n.toLocaleString('en-US').padStart(9);
  console.log(`${label.padEnd(58)} ${format(wall)}/s wall  ${format(perCpuSecond)}/s per CPU second`);
}

export async function run(): Promise<void> {
  const member: Document = { name: `${ROOT}/orgs/A/members/alice`, fields: { role: { stringValue: 'member' } } };
  const contact: Document = { name: `${ROOT}/orgs/A/contacts/c1`, fields: { name: { stringValue: 'Ada' } } };
  const docs = new Map([member, contact].map((d) => [d.name as string, d]));
  const reader: DocumentReader = { get: (name) => docs.get(name) ?? null };
  const time = { seconds: '1700000000', nanos: 0 };
  const ctx: RequestContext = { caller: { kind: 'user', uid: 'alice', token: { sub: 'alice', email: 'alice@example.com' } }, time };
  const created: Document = {
    name: `${ROOT}/orgs/A/contacts/c2`,
    fields: {
      name: { stringValue: 'Grace' },
      email: { stringValue: 'grace@example.com' },
      createdBy: { stringValue: 'alice' },
      createdAt: { timestampValue: time },
    },
  };

  for (const coverage of [true, false]) {
    const policy: AccessPolicy = compileRules([{ name: 'firestore.rules', content: RULES }], { coverage }).policy;
    const suffix = coverage ? '(coverage on, the default)' : '(coverage off)';
    measure(`get: membership get() + role check ${suffix}`, 2, () => policy.authorizeGet(ctx, contact.name as string, reader).allowed);
    measure(
      `list: query under orgs/A ${suffix}`,
      1,
      () => policy.authorizeQuery(ctx, `${ROOT}/orgs/A`, { from: [{ collectionId: 'contacts' }] }, reader).allowed,
    );
    measure(
      `create: membership + 6 field checks ${suffix}`,
      1,
      () => policy.authorizeWrites(ctx, [{ name: created.name as string, method: 'create', before: null, after: created }], reader, reader).allowed,
    );
  }
}
