/**
 * The one module that builds LeadPulse document paths. The web client builds the same paths (they are part of
 * the access contract), so every segment is checked to be a valid Firestore document id.
 */

/** Collection names under `orgs/{orgId}`. */
export const orgCollections = ['members', 'contacts', 'messages', 'config', 'billing', 'invites', 'auditLog'] as const;
export type OrgCollection = (typeof orgCollections)[number];

/**
 * Collection groups a client may query. Only `members`, and only with `where('uid', '==', <own uid>)`: that is
 * how the web client finds the organizations a person belongs to (firestore.rules denies any other).
 */
export const collectionGroups = { members: 'members' } as const;

/** Top-level collections only Cloud Functions read or write (the rules deny every client). */
export const serverCollections = {
  stripeEvents: 'stripeEvents',
  stripeCustomers: 'stripeCustomers',
  billingRecords: 'billingRecords',
  usageEvents: 'usageEvents',
  deletionRequests: 'deletionRequests',
  deletionReceipts: 'deletionReceipts',
  marketingConsents: 'marketingConsents',
  rateLimits: 'rateLimits',
} as const;

// TextEncoder, not Buffer: the web client imports this module in browsers.
const utf8 = new TextEncoder();

/** Throws unless `id` is usable as one Firestore document id (no slash, not `.`/`..`, not `__reserved__`). */
export function assertDocumentId(id: string, what = 'document id'): string {
  if (typeof id !== 'string' || id.length === 0) throw new Error(`${what} must be a non-empty string`);
  if (id.includes('/')) throw new Error(`${what} must not contain "/": ${JSON.stringify(id)}`);
  if (id === '.' || id === '..') throw new Error(`${what} must not be "." or ".."`);
  if (/^__.*__$/.test(id)) throw new Error(`${what} must not match __.*__ (reserved): ${JSON.stringify(id)}`);
  if (utf8.encode(id).length > 1500) throw new Error(`${what} must be at most 1500 bytes`);
  return id;
}

const seg = assertDocumentId;

export const paths = {
  orgs: () => 'orgs',
  org: (orgId: string) => `orgs/${seg(orgId, 'orgId')}`,
  orgCollection: (orgId: string, collection: OrgCollection) => `orgs/${seg(orgId, 'orgId')}/${collection}`,
  members: (orgId: string) => paths.orgCollection(orgId, 'members'),
  member: (orgId: string, uid: string) => `${paths.members(orgId)}/${seg(uid, 'uid')}`,
  contacts: (orgId: string) => paths.orgCollection(orgId, 'contacts'),
  contact: (orgId: string, contactId: string) => `${paths.contacts(orgId)}/${seg(contactId, 'contactId')}`,
  messages: (orgId: string) => paths.orgCollection(orgId, 'messages'),
  message: (orgId: string, messageId: string) => `${paths.messages(orgId)}/${seg(messageId, 'messageId')}`,
  configs: (orgId: string) => paths.orgCollection(orgId, 'config'),
  config: (orgId: string, configId: string) => `${paths.configs(orgId)}/${seg(configId, 'configId')}`,
  billingDocs: (orgId: string) => paths.orgCollection(orgId, 'billing'),
  /** The organization's mirror of its Stripe subscription. */
  subscription: (orgId: string) => `${paths.billingDocs(orgId)}/subscription`,
  invites: (orgId: string) => paths.orgCollection(orgId, 'invites'),
  invite: (orgId: string, inviteId: string) => `${paths.invites(orgId)}/${seg(inviteId, 'inviteId')}`,
  auditLog: (orgId: string) => paths.orgCollection(orgId, 'auditLog'),
  auditEntry: (orgId: string, entryId: string) => `${paths.auditLog(orgId)}/${seg(entryId, 'entryId')}`,

  users: () => 'users',
  user: (uid: string) => `users/${seg(uid, 'uid')}`,

  stripeEvent: (eventId: string) => `${serverCollections.stripeEvents}/${seg(eventId, 'eventId')}`,
  stripeCustomer: (customerId: string) => `${serverCollections.stripeCustomers}/${seg(customerId, 'customerId')}`,
  billingRecord: (invoiceId: string) => `${serverCollections.billingRecords}/${seg(invoiceId, 'invoiceId')}`,
  usageEvent: (eventId: string) => `${serverCollections.usageEvents}/${seg(eventId, 'eventId')}`,
  deletionRequest: (requestId: string) => `${serverCollections.deletionRequests}/${seg(requestId, 'requestId')}`,
  deletionReceipt: (receiptId: string) => `${serverCollections.deletionReceipts}/${seg(receiptId, 'receiptId')}`,
  marketingConsent: (uid: string) => `${serverCollections.marketingConsents}/${seg(uid, 'uid')}`,
  /** A rate-limit counter; its id is a hash, never a uid or an organization id. */
  rateLimit: (counterId: string) => `${serverCollections.rateLimits}/${seg(counterId, 'counterId')}`,
} as const;

/** Document path patterns of the Firestore triggers (wildcards in braces name the event's params). */
export const documentPatterns = {
  org: 'orgs/{orgId}',
  config: 'orgs/{orgId}/config/{configId}',
  contact: 'orgs/{orgId}/contacts/{contactId}',
} as const;

/** The org id of a path under `orgs/{orgId}/…`, or null. */
export function orgIdOf(path: string): string | null {
  const match = /^orgs\/([^/]+)(\/|$)/.exec(path);
  return match ? match[1] : null;
}
