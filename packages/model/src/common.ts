import { z } from 'zod';

/**
 * A Firestore Timestamp from either SDK (firebase-admin's or the web client's): both expose seconds,
 * nanoseconds, toMillis() and toDate(). Structural, so this package needs neither SDK.
 */
export interface TimestampLike {
  seconds: number;
  nanoseconds: number;
  toMillis(): number;
  toDate(): Date;
}
export const timestampSchema = z.custom<TimestampLike>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as TimestampLike).seconds === 'number' &&
    typeof (value as TimestampLike).nanoseconds === 'number' &&
    typeof (value as TimestampLike).toMillis === 'function' &&
    typeof (value as TimestampLike).toDate === 'function',
  { error: 'expected a Firestore Timestamp' },
);

/** One character of a single line of text: anything but a control character. */
const lineCharacter = '[^\\x00-\\x1f\\x7f]';
/**
 * Characters that are neither whitespace nor format characters yet draw nothing: the combining grapheme joiner
 * U+034F, the Hangul fillers U+115F, U+1160, U+3164 and U+FFA0, the Khmer inherent vowels U+17B4 and U+17B5, the
 * blank Braille pattern U+2800 and the musical null notehead U+1D159. No property class names them, so they are
 * listed, in RE2's `\x{...}` escape (the only escape syntax this file's patterns use that JavaScript spells
 * differently: `anchored` rewrites it for zod), which keeps firestore.rules in plain ASCII.
 */
const blankLetters = ['034F', '115F', '1160', '17B4', '17B5', '2800', '3164', 'FFA0', '1D159'].map((code) => `\\x{${code}}`).join('');
/**
 * What may begin or end a name: not whitespace of any script (`\p{Z}`: U+0020, U+00A0, U+3000, U+2028...), not a
 * control character (`\p{Cc}`, C1 included), not an invisible format character (`\p{Cf}`: U+200B, U+FEFF, U+200E,
 * U+180E, U+2060-U+2064...) and not one of the blank letters above. A name made only of such characters is
 * therefore refused, and a valid name is unchanged by JavaScript's `trim()` (whose set is a subset of these), so
 * zod and the rules accept exactly the same strings.
 */
const nameEdgeCharacter = `[^\\p{Z}\\p{Cc}\\p{Cf}${blankLetters}]`;
/** Inside a name: one line, so no control characters and no line or paragraph separator (U+2028, U+2029). */
const nameInnerCharacter = '[^\\p{Cc}\\p{Zl}\\p{Zp}]';

/**
 * Regular expressions that the zod schemas and firestore.rules both apply. They are written in the syntax
 * JavaScript and RE2 (the rules engine's) read alike, and firestore.rules carries them verbatim (as rules
 * string literals, so every backslash doubled); test/access proves the two sides accept the same values.
 * Each matches a whole string (rules `matches()` is always anchored; zod gets `^...$` and the `u` flag, without
 * which JavaScript does not read `\p{...}` classes as RE2 does).
 */
export const patterns = {
  /** A practical e-mail address: dot-separated local part, dot-separated host names, a letters-only TLD. */
  email: "[A-Za-z0-9_%+'-]+(\\.[A-Za-z0-9_%+'-]+)*@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.)+[A-Za-z]{2,}",
  /** An https URL with a host name, optional port, and printable ASCII after it. */
  httpsUrl: 'https://[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:[0-9]{1,5})?([/?#][!-~]*)?',
  /** One line of text: no control characters (tags, pipeline stages: the rules join lists on a newline). */
  singleLine: `${lineCharacter}*`,
  /** A list of one-line labels of 1..max characters, joined on newlines (how the rules check a list). */
  labelList: (max: number) => `${lineCharacter}{1,${max}}(\\n${lineCharacter}{1,${max}})*`,
  /** A name shown in the UI: one line, not starting or ending with whitespace, an invisible character or a blank letter. */
  displayName: `(${nameEdgeCharacter}(${nameInnerCharacter}*${nameEdgeCharacter})?)?`,
  /** A BCP 47 language tag such as `en` or `pt-BR`. */
  locale: '[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*',
  /** A document id the client may name in a field (contactId): Firestore auto-ids and our own ids. */
  docId: '[A-Za-z0-9_-]+',
} as const;

/**
 * The zod form of a shared pattern: anchored at both ends, like rules `matches()`, with RE2's code point escape
 * `\x{...}` written as JavaScript's `\u{...}` (an `\x` after an escaped backslash is a literal `x`: left alone).
 */
export function anchored(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern.replace(/(?<!\\)((?:\\\\)*)\\x\{/g, '$1\\u{')})$`, 'u');
}

/**
 * The shape version a server-written document was written with (docs/operations.md, "Schema evolution"). Writers
 * stamp their kind's current version; readers accept any: absent means 1 (written before versions existed), and a
 * newer version's extra fields are ignored (reads are tolerant), so a rolling deploy or a rollback reads both.
 */
export const schemaVersionSchema = z.number().int().min(1).optional();
/** The version a writer stamps on a document it writes: its own, or the stored one if newer (never lowered). */
export function stampedVersion(stored: number | undefined, current: number): number {
  return Math.max(stored ?? 1, current);
}
/**
 * `schemaVersion` where a job reads it only to stamp a document it updates anyway (an access change flips every
 * member): a value that is no version (written by hand, say) reads as absent, so the update writes its own version
 * instead of stopping for the whole organization.
 */
export const storedSchemaVersionSchema = schemaVersionSchema.catch(undefined);

/** Firebase Auth uids are at most 128 characters. */
export const uidSchema = z.string().min(1).max(128);
/** Ids the server or the client generates for documents (Firestore auto-ids are 20 characters). */
export const docIdSchema = z.string().min(1).max(128).regex(anchored(patterns.docId), 'must contain only letters, digits, "_" and "-"');
export const emailSchema = z.string().max(320).regex(anchored(patterns.email), 'must be an e-mail address');
export const httpsUrlSchema = z.string().max(2048).regex(anchored(patterns.httpsUrl), 'must be an https URL');
/**
 * A one-line label of 1..`max` characters (a tag, a pipeline stage). The rules can bound list items only by a
 * regular expression, which counts Unicode code points, so this schema counts them too (`u` flag) where other
 * strings count UTF-16 units like `.max()` and rules `size()`.
 */
export const labelSchema = (max: number) => z.string().regex(new RegExp(`^${lineCharacter}{1,${max}}$`, 'u'), `must be 1 to ${max} characters on one line`);
/**
 * A name people see (organization, person), as stored: 1..`max` characters on one line, not beginning or ending
 * with whitespace or an invisible character. It does not trim: the rules cannot, so a stored name the rules let
 * through must read back unchanged (an untrimmed name once made every server read of its organization fail).
 */
export const displayNameSchema = (max: number) =>
  z.string().min(1).max(max).regex(anchored(patterns.displayName), 'must be one line, not beginning or ending with a space or an invisible character');
/** A name as a caller sends it to a callable: trimmed first, then checked as stored. */
export const displayNameInputSchema = (max: number) => z.string().trim().pipe(displayNameSchema(max));

export const roles = ['owner', 'admin', 'member', 'viewer'] as const;
export const roleSchema = z.enum(roles);
export type Role = z.infer<typeof roleSchema>;

/**
 * What members of an organization may do, derived in one place (orgs/access-state) from the organization's
 * status and billing; copied onto every member document so that the rules decide with one lookup.
 * full: read and write; read_only: billing lapsed past grace; none: the organization is being deleted.
 */
export const accessStates = ['full', 'read_only', 'none'] as const;
export const accessStateSchema = z.enum(accessStates);
export type AccessState = z.infer<typeof accessStateSchema>;
