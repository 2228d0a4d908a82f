import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Timestamp, type Firestore } from 'firebase-admin/firestore';
import { MEMBER_VERSION, ORGANIZATION_VERSION, paths } from '@leadpulse/model';
import { adminFirestore, uniqueProjectId } from '../support/firestore';
import { createOrganization } from '../../functions/src/orgs';
import { dumpProject, expectRefusedWithoutChange } from '../support/snapshot';
import { START, caller, deps, manualClock, readAuditLog, readMembers, readOrg, uniqueUid } from './support';

let db: Firestore;
let close: () => Promise<void>;
beforeAll(() => {
  ({ db, close } = adminFirestore(uniqueProjectId('orgs-create')));
});
afterAll(() => close());

describe('createOrganization', () => {
  it('creates the organization, its owner membership and an audit entry together', async () => {
    const { clock } = manualClock();
    const owner = caller(uniqueUid('owner'), { email: 'Ana.Owner@Example.com', name: ' Ana ' });
    const { orgId } = await createOrganization(deps(db, clock), owner, { name: 'Acme', branding: { primaryColor: '#112233' } });

    expect(await readOrg(db, orgId)).toEqual({
      schemaVersion: ORGANIZATION_VERSION,
      name: 'Acme',
      branding: { primaryColor: '#112233' },
      ownerUid: owner.uid,
      plan: 'free',
      status: 'active',
      access: 'full',
      createdAt: Timestamp.fromDate(START),
    });
    expect(await readMembers(db, orgId)).toEqual([
      {
        schemaVersion: MEMBER_VERSION,
        uid: owner.uid,
        orgId,
        role: 'owner',
        access: 'full',
        email: 'ana.owner@example.com',
        displayName: 'Ana',
        joinedAt: Timestamp.fromDate(START),
      },
    ]);
    expect(await readAuditLog(db, orgId)).toEqual([{ action: 'org.created', actorUid: owner.uid, targetId: orgId, at: Timestamp.fromDate(START) }]);
  });

  it.each([
    ['a right-to-left override', 'Eve \u202Enimda\u202C', 'Eve nimda'],
    ['isolates and marks', '\u2067Mallory\u2069\u200F \u200EAdmin', 'Mallory Admin'],
    ['control characters and line breaks', 'Bob\u0007\nOwner\u2028(real)\u0000', 'Bob Owner (real)'],
    ['zero-width characters', 'Ad\u200Bmin\uFEFF', 'Admin'],
    ['decomposed accents', 'Jose\u0301', 'Jos\u00E9'],
  ])('normalizes a name with %s before it reaches the member list', async (_, name, expected) => {
    const owner = caller(uniqueUid('owner'), { name });
    const { orgId } = await createOrganization(deps(db, manualClock().clock), owner, { name: 'Named' });
    expect((await readMembers(db, orgId))[0].displayName).toBe(expected);
  });

  it('leaves the name out when nothing printable is left of it', async () => {
    const owner = caller(uniqueUid('owner'), { name: '\u202E\u200B\u0007 ' });
    const { orgId } = await createOrganization(deps(db, manualClock().clock), owner, { name: 'Unnamed' });
    expect((await readMembers(db, orgId))[0]).not.toHaveProperty('displayName');
  });

  it('creates distinct organizations for repeated calls and leaves out absent optional fields', async () => {
    const owner = caller(uniqueUid('owner'));
    const first = await createOrganization(deps(db, manualClock().clock), owner, { name: 'One' });
    const second = await createOrganization(deps(db, manualClock().clock), owner, { name: 'Two' });
    expect(first.orgId).not.toBe(second.orgId);
    const org = await readOrg(db, first.orgId);
    expect(org).not.toHaveProperty('branding');
    const [member] = await readMembers(db, first.orgId);
    expect(member).not.toHaveProperty('displayName');
  });

  it('requires a verified e-mail address', async () => {
    const d = deps(db, manualClock().clock);
    const unverified = caller(uniqueUid('unverified'), { emailVerified: false });
    await expectRefusedWithoutChange(db, () => createOrganization(d, unverified, { name: 'Acme' }), 'failed-precondition', /verify/);
    const noEmail = caller(uniqueUid('anonymous'), { email: null });
    await expectRefusedWithoutChange(db, () => createOrganization(d, noEmail, { name: 'Acme' }), 'failed-precondition', /verify/);
  });

  it.each([
    ['no arguments', undefined, '(arguments)'],
    ['a missing name', {}, 'name'],
    ['a blank name', { name: '   ' }, 'name'],
    ['a name over 100 characters', { name: 'x'.repeat(101) }, 'name'],
    ['a bad colour', { name: 'Acme', branding: { primaryColor: 'red' } }, 'branding.primaryColor'],
    ['an http logo', { name: 'Acme', branding: { logoUrl: 'http://example.com/logo.png' } }, 'branding.logoUrl'],
    ['a privileged field', { name: 'Acme', ownerUid: 'someone-else' }, 'ownerUid'],
  ])('rejects %s as invalid-argument naming the field', async (_, args, field) => {
    const error = await expectRefusedWithoutChange(
      db,
      () => createOrganization(deps(db, manualClock().clock), caller(uniqueUid('owner')), args),
      'invalid-argument',
    );
    expect(error.details).toEqual({ field });
    expect(error.message.startsWith(`${field}:`)).toBe(true);
  });

  it('bounds the active organizations one user owns; one being deleted does not count', async () => {
    const d = deps(db, manualClock().clock, { maxOrgsPerOwner: 2 });
    const owner = caller(uniqueUid('owner'));
    const { orgId: first } = await createOrganization(d, owner, { name: 'One' });
    await createOrganization(d, owner, { name: 'Two' });
    await expectRefusedWithoutChange(db, () => createOrganization(d, owner, { name: 'Three' }), 'failed-precondition', /2 organizations, the maximum/);

    // Another user is not affected by this owner's count.
    await createOrganization(d, caller(uniqueUid('other')), { name: 'Other' });

    await db.doc(paths.org(first)).update({ status: 'deleting', access: 'none' });
    const before = (await dumpProject(db)).size;
    await createOrganization(d, owner, { name: 'Three' });
    expect((await dumpProject(db)).size).toBe(before + 3);
  });
});
