import { z } from 'zod';

/**
 * Page cursors. A cursor names a *position* in a listing's order, not an item: the next page
 * starts right after it. Every string a cursor's pattern allows is a position, so the server
 * accepts any well-formed cursor (one from another listing or tenant only moves the start within
 * the caller's own listing; it never shows anything else) and answers a malformed one with 400
 * naming `query.cursor`. Clients treat cursors as opaque and pass `nextCursor` back.
 */

const BASE64URL = '[A-Za-z0-9_-]';
const text = (value: string): string => Buffer.from(value, 'utf8').toString('base64url');
const untext = (value: string): string => Buffer.from(value, 'base64url').toString('utf8');

/** S3 and MinIO keys are at most 1,024 bytes: 1,366 base64url characters. */
const MAX_KEY_CHARS = 1366;

/**
 * The cursor of a listing of object-store keys under a prefix: the last key shown, relative to
 * the listing's root, in base64url (any key, whatever its characters, round-trips).
 */
export const StoreCursor = z
  .string()
  .regex(new RegExp(`^${BASE64URL}{1,${MAX_KEY_CHARS}}$`), 'must be a nextCursor of this listing (base64url)')
  .meta({ description: "the previous page's `nextCursor` (opaque, base64url): the listing continues after that position" });

export const storeCursor = {
  /** The cursor after `key`, a key under `root`. */
  after: (root: string, key: string): string => text(key.startsWith(root) ? key.slice(root.length) : key),
  /** The store's `startAfter` for a cursor: always under `root`, so nothing outside the listing is reachable. */
  startAfter: (root: string, cursor: string): string => `${root}${untext(cursor)}`,
};

type KeysetField = { name: string; kind: 'int' } | { name: string; kind: 'text'; maxChars: number } | { name: string; kind: 'enum'; values: readonly string[] };
type KeysetValue<F extends KeysetField> = F extends { kind: 'int' } ? number : F extends { kind: 'enum'; values: readonly (infer V)[] } ? V : string;
type Keyset<Fs extends readonly KeysetField[]> = { [F in Fs[number] as F['name']]: KeysetValue<F> };

/**
 * A keyset cursor over an in-memory list: the sort key of the last item shown, its fields joined
 * by `.` (integers in decimal, texts in base64url, enums as themselves). Every string the pattern
 * allows decodes to a key, so every well-formed cursor is a position.
 */
export function keysetCursor<const Fs extends readonly KeysetField[]>(fields: Fs) {
  // A UTF-16 code unit is at most 3 bytes of UTF-8, so a text of n units is at most 4n base64url characters.
  const part = (f: KeysetField): string =>
    f.kind === 'int' ? '(0|[1-9][0-9]{0,8})' : f.kind === 'enum' ? `(${f.values.join('|')})` : `${BASE64URL}{0,${4 * f.maxChars}}`;
  const pattern = new RegExp(`^${fields.map(part).join('\\.')}$`);
  const schema = z
    .string()
    .regex(pattern, 'must be a nextCursor of this listing')
    .meta({ description: "the previous page's `nextCursor` (opaque): the listing continues after that position" });
  return {
    schema,
    encode(key: Keyset<Fs>): string {
      const values = key as Record<string, string | number>;
      return fields.map((f) => (f.kind === 'text' ? text(String(values[f.name])) : String(values[f.name]))).join('.');
    },
    /** The key a well-formed cursor names; undefined for a malformed one. */
    decode(cursor: string): Keyset<Fs> | undefined {
      if (!pattern.test(cursor)) return undefined;
      const parts = cursor.split('.');
      return Object.fromEntries(
        fields.map((f, i) => [f.name, f.kind === 'int' ? Number(parts[i]) : f.kind === 'text' ? untext(parts[i]) : parts[i]]),
      ) as Keyset<Fs>;
    },
  };
}
