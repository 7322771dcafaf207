import { Rights, type Rights as RightsType } from '@adseed/contracts';
import { parse, type Info } from 'csv-parse/sync';

export interface ManifestRow {
  file: string;
  caption?: string;
  tags: string[];
  rights?: RightsType;
}

/** Columns with a meaning of their own; every other column's value becomes a tag (e.g. `category`, `colour`). */
const KNOWN = new Set(['file', 'caption', 'tags', 'licence', 'license', 'attribution', 'expires', 'expiresat', 'expires_at', 'channels']);
const list = (cell: string | undefined): string[] =>
  cell
    ? cell
        .split(';')
        .map((t) => t.trim())
        .filter(Boolean)
    : [];

/**
 * Reads a seed manifest CSV: `file` (required), then any of `caption`, `tags` (`;`-separated),
 * `licence`, `attribution`, `expires` (ISO date-time), `channels` (`;`-separated). Any other
 * column is a label whose value becomes a tag. A row whose rights do not parse names the line
 * (its line in the file, blank lines and quoted line breaks counted). Parsing is csv-parse's
 * (RFC 4180 quoting, BOM, CRLF); cells are trimmed, blank rows skipped, ragged rows accepted.
 */
export function parseManifest(csv: string): ManifestRow[] {
  const records = parse(csv, {
    bom: true,
    trim: true,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_empty_values: true,
    info: true,
  }) as unknown as { record: string[]; info: Info }[];
  const header = (records[0]?.record ?? []).map((h) => h.toLowerCase());
  if (!header.includes('file')) throw new Error('the manifest needs a `file` column');
  return records.slice(1).map(({ record: cells, info }) => {
    const get = (...names: string[]) => {
      for (const name of names) {
        const i = header.indexOf(name);
        const value = i >= 0 ? cells[i] : undefined;
        if (value) return value;
      }
      return undefined;
    };
    const labels = header.flatMap((h, i) => (KNOWN.has(h) || !cells[i] ? [] : [cells[i]]));
    const rights = Rights.safeParse({
      ...(get('licence', 'license') ? { licence: get('licence', 'license') } : {}),
      ...(get('attribution') ? { attribution: get('attribution') } : {}),
      ...(get('expires', 'expiresat', 'expires_at') ? { expiresAt: get('expires', 'expiresat', 'expires_at') } : {}),
      ...(get('channels') ? { channels: list(get('channels')) } : {}),
    });
    if (!rights.success) throw new Error(`manifest line ${info.lines}: ${rights.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
    const caption = get('caption');
    return {
      file: get('file')!,
      ...(caption ? { caption } : {}),
      tags: [...new Set([...list(get('tags')), ...labels])],
      ...(Object.keys(rights.data).length ? { rights: rights.data } : {}),
    };
  });
}
