/**
 * The documents clients write, each with: the zod schema that describes it (packages/model), the request
 * that writes it, valid documents generated from the schema's bounds (fast-check), documents exactly at the
 * bounds, and invalid variants. The agreement suite proves: valid documents pass zod and the rules; every
 * invalid variant fails the rules and, unless it breaks a rule zod cannot see (the caller, the request time,
 * an existing contact, an unchanged field, a server-owned field), fails zod too.
 */
import fc from 'fast-check';
import type { DocumentData } from 'firebase/firestore';
import type { z } from 'zod';
import {
  configLimits,
  configSchema,
  contactLimits,
  contactSchema,
  messageLimits,
  messageSchema,
  ORGANIZATION_VERSION,
  organizationSchema,
  orgLimits,
  paths,
  userProfileLimits,
  userProfileSchema,
} from '@leadpulse/model';
import type { OrgKey } from './contract';
import { orgIds, teammateUid } from './fixtures';
import { NOW, clientTime, type AccessRequest } from './requests';

export type KindId = 'contact' | 'contactUpdate' | 'message' | 'config' | 'orgUpdate' | 'profile' | 'profileUpdate';

export interface Variant {
  name: string;
  data: DocumentData;
  /** Set when zod cannot see the fault (it is about the caller, the time, other documents or a change). */
  rulesOnly?: string;
  /** The variant is a fault only when written to this organization (it names the other one's document). */
  faultyIn?: OrgKey;
}

export interface DocumentKind {
  id: KindId;
  schema: z.ZodType;
  /** The uid that writes: a member with the role the matrix allows (a fresh person for profile creates). */
  writer(sample: number): string;
  request(data: DocumentData, writer: string, sample: number): AccessRequest;
  /** The whole stored document zod judges: updates are merged into the document they update. */
  stored(data: DocumentData, writer: string): DocumentData;
  arbitrary(writer: string): fc.Arbitrary<DocumentData>;
  atBounds(writer: string): DocumentData[];
  /** A valid document; each invalid variant is this with one fault. */
  base(writer: string): DocumentData;
  invalid(writer: string): Variant[];
}

// ---- Generators of valid values ---------------------------------------------------------------------------

// Printable ASCII, letters beyond it, and a character outside the BMP (two UTF-16 units, one code point).
const lineChars = [...Array.from('abcxyzABCXYZ0189 .,;:!?-_\'"()/&@#%+*=<>[]{}|~^`$\\'), 'é', 'ß', 'Ж', '漢', '字', 'ü', '€', '😀'];
const lineChar = fc.constantFrom(...lineChars);
const anyChar = fc.oneof(lineChar, fc.constantFrom('\n', '\t', '\r'));
/** Strings bounded like `.max()` and rules `size()`: in UTF-16 units. */
const utf16Bounded = (maxLength: number) => (s: string) => s.length <= maxLength;
const text = (minLength: number, maxLength: number) => fc.string({ unit: anyChar, minLength, maxLength }).filter(utf16Bounded(maxLength));
const line = (minLength: number, maxLength: number) => fc.string({ unit: lineChar, minLength, maxLength }).filter(utf16Bounded(maxLength));
/** Labels are bounded in code points (see labelSchema): each unit here is one. */
const label = (maxLength: number) => fc.string({ unit: lineChar, minLength: 1, maxLength });
const displayName = (max: number) => line(1, max).filter((s) => s.trim() === s && s.length > 0);
const alnum = fc.constantFrom(...Array.from('abcdefghijklmnopqrstuvwxyz0123456789'));
const word = (max: number) => fc.string({ unit: alnum, minLength: 1, maxLength: max });
const email = fc
  .tuple(
    fc.array(fc.string({ unit: fc.constantFrom(...Array.from("abz09_%+'-")), minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 3 }),
    fc.array(word(12), { minLength: 1, maxLength: 3 }),
    fc.string({ unit: fc.constantFrom(...Array.from('comnetorgio')), minLength: 2, maxLength: 6 }),
  )
  .map(([local, hosts, tld]) => `${local.join('.')}@${hosts.join('.')}.${tld}`);
const httpsUrl = fc
  .tuple(
    fc.array(word(10), { minLength: 1, maxLength: 3 }),
    fc.option(fc.integer({ min: 1, max: 65535 })),
    fc.string({ unit: fc.constantFrom(...Array.from('abc123/-_.~?=&#%')), maxLength: 40 }),
  )
  .map(([hosts, port, rest]) => `https://${hosts.join('.')}.com${port === null ? '' : `:${port}`}/${rest}`);
const labels = (maxItems: number, maxLength: number) => fc.array(label(maxLength), { maxLength: maxItems });
const locale = fc.constantFrom('en', 'pt-BR', 'zh-Hant-TW', 'de');

/** An object with the given required fields and any subset of the optional ones. */
function record(required: Record<string, fc.Arbitrary<unknown>>, optional: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<DocumentData> {
  return fc.record({ ...required, ...optional }, { requiredKeys: Object.keys(required) });
}

const repeat = (n: number, c = 'x') => c.repeat(n);
const without = (data: DocumentData, field: string) => Object.fromEntries(Object.entries(data).filter(([key]) => key !== field));
const past = clientTime(Date.UTC(2020, 0, 1));
/** A member of A who is not `writer`. */
const someoneElse = (writer: string) => (writer === 'u-admin-a' ? 'u-owner-a' : 'u-admin-a');

// ---- The kinds ----------------------------------------------------------------------------------------------

const orgA = orgIds.A;
let nextId = 0;
const freshId = (prefix: string) => `${prefix}-${process.pid}-${nextId++}`;

const contactBase = (writer: string): DocumentData => ({ name: 'Ada Lovelace', status: 'lead', createdBy: writer, createdAt: NOW, updatedAt: NOW });

/** Invalid variants of a contact's fields, shared by create and update. */
function contactFieldFaults(base: DocumentData): Variant[] {
  return [
    { name: 'unknown field orgId (moving it to another organization)', data: { ...base, orgId: orgIds.B } },
    { name: 'privilege field role', data: { ...base, role: 'owner' } },
    { name: 'name empty', data: { ...base, name: '' } },
    { name: `name longer than ${contactLimits.name}`, data: { ...base, name: repeat(contactLimits.name + 1) } },
    { name: 'name not a string', data: { ...base, name: 42 } },
    { name: 'email not an address', data: { ...base, email: 'not-an-email' } },
    { name: 'email longer than 320', data: { ...base, email: `${repeat(310)}@example.com` } },
    { name: `phone longer than ${contactLimits.phone}`, data: { ...base, phone: repeat(contactLimits.phone + 1, '1') } },
    { name: 'phone on two lines', data: { ...base, phone: '123\n456' } },
    { name: `company longer than ${contactLimits.company}`, data: { ...base, company: repeat(contactLimits.company + 1) } },
    { name: `notes longer than ${contactLimits.notes}`, data: { ...base, notes: repeat(contactLimits.notes + 1) } },
    { name: `more than ${contactLimits.tags} tags`, data: { ...base, tags: Array.from({ length: contactLimits.tags + 1 }, (_, i) => `t${i}`) } },
    { name: `tag longer than ${contactLimits.tag}`, data: { ...base, tags: ['ok', repeat(contactLimits.tag + 1)] } },
    { name: `tag of ${contactLimits.tag + 1} characters outside the BMP`, data: { ...base, tags: ['😀'.repeat(contactLimits.tag + 1)] } },
    { name: 'empty tag', data: { ...base, tags: ['ok', ''] } },
    { name: 'tag on two lines', data: { ...base, tags: ['a\nb'] } },
    { name: 'tag not a string', data: { ...base, tags: ['ok', 7] } },
    { name: 'tags not a list', data: { ...base, tags: 'hot' } },
    { name: 'status not in the enum', data: { ...base, status: 'won' } },
    { name: 'status missing', data: without(base, 'status') },
  ];
}

export const documentKinds: Record<KindId, DocumentKind> = {
  contact: {
    id: 'contact',
    schema: contactSchema,
    writer: () => 'u-member-a',
    request: (data) => ({ kind: 'create', path: paths.contact(orgA, freshId('contact')), data }),
    stored: (data) => data,
    arbitrary: (writer) =>
      record(
        {
          name: text(1, contactLimits.name),
          status: fc.constantFrom('lead', 'prospect', 'customer', 'lost'),
          createdBy: fc.constant(writer),
          createdAt: fc.constant(NOW),
          updatedAt: fc.constant(NOW),
        },
        {
          email,
          phone: line(1, contactLimits.phone),
          company: text(0, contactLimits.company),
          notes: text(0, 300),
          tags: labels(contactLimits.tags, contactLimits.tag),
        },
      ),
    atBounds: (writer) => [
      {
        ...contactBase(writer),
        name: repeat(contactLimits.name),
        email: `${repeat(64)}@${repeat(200, 'e')}.com`,
        phone: repeat(contactLimits.phone, '9'),
        company: repeat(contactLimits.company),
        notes: repeat(contactLimits.notes),
        tags: Array.from({ length: contactLimits.tags }, (_, i) => repeat(contactLimits.tag - 2) + String(i).padStart(2, '0')),
      },
      { ...contactBase(writer), company: '', notes: '', tags: [] },
      // 50 code points, 100 UTF-16 units: labels count code points.
      { ...contactBase(writer), tags: ['😀'.repeat(contactLimits.tag)] },
    ],
    base: contactBase,
    invalid: (writer) => {
      const base = contactBase(writer);
      return [
        ...contactFieldFaults(base),
        { name: 'name missing', data: without(base, 'name') },
        { name: 'createdBy missing', data: without(base, 'createdBy') },
        { name: 'createdAt missing', data: without(base, 'createdAt') },
        { name: 'updatedAt missing', data: without(base, 'updatedAt') },
        { name: 'createdBy longer than a uid', data: { ...base, createdBy: repeat(129) } },
        { name: 'createdBy names someone else', data: { ...base, createdBy: someoneElse(writer) }, rulesOnly: 'createdBy is the caller' },
        { name: 'createdAt chosen by the client', data: { ...base, createdAt: past }, rulesOnly: 'createdAt is the request time' },
        { name: 'updatedAt chosen by the client', data: { ...base, updatedAt: past }, rulesOnly: 'updatedAt is the request time' },
      ];
    },
  },

  contactUpdate: {
    id: 'contactUpdate',
    schema: contactSchema,
    writer: () => 'u-member-a',
    request: (data) => ({ kind: 'update', path: paths.contact(orgA, 'c-update'), data }),
    stored: (data) => ({ name: 'Contact c-update', status: 'lead', createdBy: teammateUid('A'), createdAt: NOW, updatedAt: NOW, notes: 'seeded', ...data }),
    arbitrary: () =>
      record(
        { updatedAt: fc.constant(NOW) },
        {
          name: text(1, contactLimits.name),
          status: fc.constantFrom('lead', 'prospect', 'customer', 'lost'),
          notes: text(0, 300),
          tags: labels(contactLimits.tags, contactLimits.tag),
        },
      ),
    atBounds: () => [{ notes: repeat(contactLimits.notes), name: repeat(contactLimits.name), updatedAt: NOW }],
    base: () => ({ notes: 'updated', updatedAt: NOW }),
    invalid: () => {
      const base = { notes: 'updated', updatedAt: NOW };
      return [
        ...contactFieldFaults(base).filter((v) => v.name !== 'status missing'),
        { name: 'createdBy changed', data: { ...base, createdBy: 'u-member-a' }, rulesOnly: 'createdBy unchanged' },
        { name: 'createdAt changed', data: { ...base, createdAt: NOW }, rulesOnly: 'createdAt unchanged' },
        { name: 'updatedAt chosen by the client', data: { ...base, updatedAt: past }, rulesOnly: 'updatedAt is the request time' },
        { name: 'updatedAt not updated', data: { notes: 'updated' }, rulesOnly: 'updatedAt is the request time' },
      ];
    },
  },

  message: {
    id: 'message',
    schema: messageSchema,
    writer: () => 'u-member-a',
    request: (data) => ({ kind: 'create', path: paths.message(orgA, freshId('message')), data }),
    stored: (data) => data,
    arbitrary: (writer) =>
      record(
        {
          contactId: fc.constantFrom('c1', 'c-update'),
          channel: fc.constantFrom('email', 'sms', 'call', 'note'),
          direction: fc.constantFrom('outbound', 'inbound'),
          body: text(1, 500),
          sentBy: fc.constant(writer),
          sentAt: fc.constant(NOW),
        },
        { subject: text(0, messageLimits.subject) },
      ),
    atBounds: (writer) => [
      {
        contactId: 'c1',
        channel: 'note',
        direction: 'inbound',
        subject: repeat(messageLimits.subject),
        body: repeat(messageLimits.body),
        sentBy: writer,
        sentAt: NOW,
      },
    ],
    base: (writer) => ({ contactId: 'c1', channel: 'email', direction: 'outbound', body: 'Hello', sentBy: writer, sentAt: NOW }),
    invalid: (writer) => {
      const base = { contactId: 'c1', channel: 'email', direction: 'outbound', body: 'Hello', sentBy: writer, sentAt: NOW };
      return [
        { name: 'body missing', data: without(base, 'body') },
        { name: 'contactId missing', data: without(base, 'contactId') },
        { name: 'sentAt missing', data: without(base, 'sentAt') },
        { name: 'body empty', data: { ...base, body: '' } },
        { name: `body longer than ${messageLimits.body}`, data: { ...base, body: repeat(messageLimits.body + 1) } },
        { name: `subject longer than ${messageLimits.subject}`, data: { ...base, subject: repeat(messageLimits.subject + 1) } },
        { name: 'channel not in the enum', data: { ...base, channel: 'fax' } },
        { name: 'direction not in the enum', data: { ...base, direction: 'sideways' } },
        { name: 'unknown field read', data: { ...base, read: true } },
        { name: 'contactId not a document id', data: { ...base, contactId: 'c1/../c2' } },
        { name: 'sentBy names someone else', data: { ...base, sentBy: someoneElse(writer) }, rulesOnly: 'sentBy is the caller' },
        { name: 'sentAt chosen by the client', data: { ...base, sentAt: past }, rulesOnly: 'sentAt is the request time' },
        { name: 'contactId names no contact', data: { ...base, contactId: 'no-such-contact' }, rulesOnly: 'the contact exists' },
        {
          name: "contactId names another organization's contact",
          data: { ...base, contactId: 'b-only' },
          rulesOnly: 'the contact is in the same organization',
          faultyIn: 'A',
        },
      ];
    },
  },

  config: {
    id: 'config',
    schema: configSchema,
    writer: () => 'u-admin-a',
    request: (data) => ({ kind: 'create', path: paths.config(orgA, freshId('config')), data }),
    stored: (data) => data,
    arbitrary: (writer) =>
      record(
        { updatedBy: fc.constant(writer), updatedAt: fc.constant(NOW) },
        {
          pipelineStages: labels(configLimits.pipelineStages, configLimits.stage),
          defaultCurrency: fc.constantFrom('USD', 'EUR', 'GBP', 'CAD', 'AUD'),
          timezone: line(1, configLimits.timezone),
        },
      ),
    atBounds: (writer) => [
      {
        pipelineStages: Array.from({ length: configLimits.pipelineStages }, (_, i) => repeat(configLimits.stage - 2) + String(i).padStart(2, '0')),
        timezone: repeat(configLimits.timezone),
        updatedBy: writer,
        updatedAt: NOW,
      },
      { pipelineStages: [], updatedBy: writer, updatedAt: NOW },
    ],
    base: (writer) => ({ timezone: 'Europe/Paris', updatedBy: writer, updatedAt: NOW }),
    invalid: (writer) => {
      const base = { timezone: 'Europe/Paris', updatedBy: writer, updatedAt: NOW };
      return [
        { name: 'updatedBy missing', data: without(base, 'updatedBy') },
        {
          name: `more than ${configLimits.pipelineStages} stages`,
          data: { ...base, pipelineStages: Array.from({ length: configLimits.pipelineStages + 1 }, (_, i) => `s${i}`) },
        },
        { name: `stage longer than ${configLimits.stage}`, data: { ...base, pipelineStages: [repeat(configLimits.stage + 1)] } },
        { name: 'empty stage', data: { ...base, pipelineStages: [''] } },
        { name: 'stage not a string', data: { ...base, pipelineStages: [true] } },
        { name: 'currency not in the enum', data: { ...base, defaultCurrency: 'JPY' } },
        { name: 'timezone empty', data: { ...base, timezone: '' } },
        { name: `timezone longer than ${configLimits.timezone}`, data: { ...base, timezone: repeat(configLimits.timezone + 1) } },
        { name: 'unknown field plan', data: { ...base, plan: 'enterprise' } },
        { name: 'updatedBy names someone else', data: { ...base, updatedBy: someoneElse(writer) }, rulesOnly: 'updatedBy is the caller' },
        { name: 'updatedAt chosen by the client', data: { ...base, updatedAt: past }, rulesOnly: 'updatedAt is the request time' },
      ];
    },
  },

  orgUpdate: {
    id: 'orgUpdate',
    schema: organizationSchema,
    writer: () => 'u-owner-a',
    request: (data) => ({ kind: 'update', path: paths.org(orgA), data }),
    stored: (data) => ({
      schemaVersion: ORGANIZATION_VERSION,
      name: 'Organization A',
      ownerUid: 'u-owner-a',
      plan: 'pro',
      status: 'active',
      access: 'full',
      createdAt: NOW,
      ...data,
    }),
    arbitrary: () =>
      record(
        { name: displayName(orgLimits.name) },
        { branding: record({}, { primaryColor: fc.constantFrom('#000000', '#a1B2c3', '#FFFFFF'), logoUrl: httpsUrl }) },
      ),
    atBounds: () => [
      { name: repeat(orgLimits.name), branding: { primaryColor: '#0f0F0f', logoUrl: `https://cdn.example.com/${repeat(2000)}` } },
      { name: 'x', branding: {} },
    ],
    base: () => ({ name: 'Renamed' }),
    invalid: () => {
      const base = { name: 'Renamed' };
      return [
        { name: 'name empty', data: { name: '' } },
        { name: `name longer than ${orgLimits.name}`, data: { name: repeat(orgLimits.name + 1) } },
        { name: 'name on two lines', data: { name: 'Acme\nInc' } },
        { name: 'name not a string', data: { name: 7 } },
        { name: 'privilege field role', data: { ...base, role: 'owner' } },
        { name: 'branding colour not #RRGGBB', data: { ...base, branding: { primaryColor: 'red' } } },
        { name: 'branding logo not https', data: { ...base, branding: { logoUrl: 'http://cdn.example.com/logo.png' } } },
        { name: 'branding logo longer than 2048', data: { ...base, branding: { logoUrl: `https://cdn.example.com/${repeat(2048)}` } } },
        { name: 'branding with an unknown key', data: { ...base, branding: { font: 'Comic Sans' } } },
        { name: 'branding not a map', data: { ...base, branding: 'blue' } },
        { name: 'plan changed', data: { ...base, plan: 'enterprise' }, rulesOnly: 'plan is server-owned' },
        { name: 'status changed', data: { ...base, status: 'deleting' }, rulesOnly: 'status is server-owned' },
        { name: 'ownerUid changed', data: { ...base, ownerUid: 'u-admin-a' }, rulesOnly: 'ownerUid is server-owned' },
        { name: 'access changed', data: { ...base, access: 'read_only' }, rulesOnly: 'access is server-owned' },
        { name: 'schemaVersion lowered', data: { ...base, schemaVersion: 1 }, rulesOnly: 'schemaVersion is server-owned' },
        { name: 'name with a leading space', data: { name: ' Acme' } },
        { name: 'name of one no-break space (U+00A0)', data: { name: '\u00a0' } },
        { name: 'name ending with a zero-width space (U+200B)', data: { name: 'Acme\u200b' } },
      ];
    },
  },

  profile: {
    id: 'profile',
    schema: userProfileSchema,
    // Each profile is a different person's: a profile's id is its owner's uid.
    writer: (sample) => `u-profile-${process.pid}-${sample}`,
    request: (data, writer) => ({ kind: 'create', path: paths.user(writer), data }),
    stored: (data) => data,
    arbitrary: () =>
      record(
        { displayName: displayName(userProfileLimits.displayName), email, createdAt: fc.constant(NOW), updatedAt: fc.constant(NOW) },
        { photoUrl: httpsUrl, locale },
      ),
    atBounds: () => [
      {
        displayName: repeat(userProfileLimits.displayName),
        email: `${repeat(64)}@example.com`,
        photoUrl: `https://a.io/${repeat(2030)}`,
        locale: 'zh-Hant-TW',
        createdAt: NOW,
        updatedAt: NOW,
      },
    ],
    base: () => ({ displayName: 'Grace Hopper', email: 'grace@example.com', createdAt: NOW, updatedAt: NOW }),
    invalid: () => {
      const base = { displayName: 'Grace Hopper', email: 'grace@example.com', createdAt: NOW, updatedAt: NOW };
      return [
        { name: 'privilege field role', data: { ...base, role: 'admin' } },
        { name: 'privilege field admin', data: { ...base, admin: true } },
        { name: 'privilege field orgs', data: { ...base, orgs: { [orgA]: 'owner' } } },
        { name: 'displayName empty', data: { ...base, displayName: '' } },
        { name: `displayName longer than ${userProfileLimits.displayName}`, data: { ...base, displayName: repeat(userProfileLimits.displayName + 1) } },
        { name: 'email missing', data: without(base, 'email') },
        { name: 'email not an address', data: { ...base, email: 'grace' } },
        { name: 'photoUrl not https', data: { ...base, photoUrl: 'ftp://example.com/me.png' } },
        { name: 'locale not a language tag', data: { ...base, locale: 'english please' } },
        { name: 'createdAt chosen by the client', data: { ...base, createdAt: past }, rulesOnly: 'createdAt is the request time' },
        { name: 'updatedAt chosen by the client', data: { ...base, updatedAt: past }, rulesOnly: 'updatedAt is the request time' },
      ];
    },
  },

  profileUpdate: {
    id: 'profileUpdate',
    schema: userProfileSchema,
    writer: () => 'u-viewer-a',
    request: (data, writer) => ({ kind: 'update', path: paths.user(writer), data }),
    stored: (data, writer) => ({ displayName: 'Viewer', email: `${writer}@example.com`, createdAt: NOW, updatedAt: NOW, ...data }),
    arbitrary: () => record({ updatedAt: fc.constant(NOW) }, { displayName: displayName(userProfileLimits.displayName), photoUrl: httpsUrl, locale }),
    atBounds: () => [{ displayName: repeat(userProfileLimits.displayName), updatedAt: NOW }],
    base: () => ({ displayName: 'Renamed', updatedAt: NOW }),
    invalid: () => {
      const base = { displayName: 'Renamed', updatedAt: NOW };
      return [
        { name: 'privilege field role', data: { ...base, role: 'owner' } },
        { name: 'displayName on two lines', data: { ...base, displayName: 'a\nb' } },
        { name: 'displayName of one ideographic space (U+3000)', data: { ...base, displayName: '\u3000' } },
        { name: 'displayName with a line separator (U+2028)', data: { ...base, displayName: 'a\u2028b' } },
        { name: 'createdAt changed', data: { ...base, createdAt: NOW }, rulesOnly: 'createdAt unchanged' },
        { name: 'updatedAt chosen by the client', data: { ...base, updatedAt: past }, rulesOnly: 'updatedAt is the request time' },
      ];
    },
  },
};
