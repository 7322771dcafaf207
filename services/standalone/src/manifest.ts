import { Rights, type Rights as RightsType } from '@adseed/contracts';

export interface ManifestRow {
  file: string;
  caption?: string;
  tags: string[];
  rights?: RightsType;
}

/** Columns with a meaning of their own; every other column's value becomes a tag (e.g. `category`, `colour`). */
const KNOWN = new Set(['file', 'caption', 'tags', 'licence', 'license', 'attribution', 'expires', 'expiresat', 'expires_at', 'channels']);
const list = (cell: string | undefined): string[] => (cell ? cell.split(';').map((t) => t.trim()).filter(Boolean) : []);

/**
 * Reads a seed manifest CSV: `file` (required), then any of `caption`, `tags` (`;`-separated),
 * `licence`, `attribution`, `expires` (ISO date-time), `channels` (`;`-separated). Any other
 * column is a label whose value becomes a tag. A row whose rights do not parse names the line.
 */
export function parseManifest(csv: string): ManifestRow[] {
  const lines = csv.split(/\r?\n/).filter((l) => l.trim());
  const header = splitCsvLine(lines[0] ?? '').map((h) => h.trim().toLowerCase());
  if (!header.includes('file')) throw new Error('the manifest needs a `file` column');
  return lines.slice(1).map((line, index) => {
    const cells = splitCsvLine(line);
    const get = (...names: string[]) => {
      for (const name of names) {
        const i = header.indexOf(name);
        const value = i >= 0 ? cells[i]?.trim() : undefined;
        if (value) return value;
      }
      return undefined;
    };
    const labels = header.flatMap((h, i) => (KNOWN.has(h) || !cells[i]?.trim() ? [] : [cells[i].trim()]));
    const rights = Rights.safeParse({
      ...(get('licence', 'license') ? { licence: get('licence', 'license') } : {}),
      ...(get('attribution') ? { attribution: get('attribution') } : {}),
      ...(get('expires', 'expiresat', 'expires_at') ? { expiresAt: get('expires', 'expiresat', 'expires_at') } : {}),
      ...(get('channels') ? { channels: list(get('channels')) } : {}),
    });
    if (!rights.success) throw new Error(`manifest line ${index + 2}: ${rights.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
    const caption = get('caption');
    return {
      file: get('file')!,
      ...(caption ? { caption } : {}),
      tags: [...new Set([...list(get('tags')), ...labels])],
      ...(Object.keys(rights.data).length ? { rights: rights.data } : {}),
    };
  });
}

function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        current += '"';
        i++;
      }
      else if (ch === '"') quoted = false;
      else current += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(current);
      current = '';
    }
    else current += ch;
  }
  cells.push(current);
  return cells;
}
