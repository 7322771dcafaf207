import type { TextCheck, TextField, TextFinding } from './text-guardrail.port';

/** Every tenant's list is merged with this one's. */
export const ALL_TENANTS = '*';

/** Lower case, compatibility forms folded (ｆｕｌｌ-width → full), accents dropped: "Café" matches "cafe". */
export function foldForMatching(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Terms a tenant never wants in its ads (a competitor's name, a banned claim), matched as whole
 * words or phrases, case- and accent-insensitively. Configured per tenant, plus `*` for all.
 */
export class DenyListTextCheck implements TextCheck {
  readonly source = 'deny-list' as const;
  private readonly patterns = new Map<string, RegExp>();

  constructor(lists: Readonly<Record<string, readonly string[]>>) {
    for (const [tenant, terms] of Object.entries(lists)) {
      const folded = [...new Set(terms.map(foldForMatching).filter(Boolean))];
      if (folded.length === 0) continue;
      // Longest first so a phrase wins over a word it starts with; \p{L}\p{N} lookarounds are Unicode word edges.
      const alternatives = folded.sort((a, b) => b.length - a.length).map((t) => escapeRegExp(t).replace(/ /g, '\\s+'));
      this.patterns.set(tenant, new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives.join('|')})(?![\\p{L}\\p{N}])`, 'u'));
    }
  }

  get size(): number {
    return this.patterns.size;
  }

  async check(tenant: string, fields: readonly TextField[]): Promise<TextFinding[]> {
    const patterns = [this.patterns.get(tenant), this.patterns.get(ALL_TENANTS)].filter((p): p is RegExp => p !== undefined);
    if (patterns.length === 0) return [];
    return fields
      .filter((f) => {
        const folded = foldForMatching(f.text);
        return patterns.some((p) => p.test(folded));
      })
      .map((f) => ({ field: f.field, category: 'deny_list', source: this.source }));
  }
}
