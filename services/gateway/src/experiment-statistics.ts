/** One vote between two configurations (indices); `winner` undefined = both bad. */
export interface PairVote {
  a: number;
  b: number;
  winner?: number;
}

export const Z_95 = 1.959963984540054;

/**
 * Wilson score interval for `wins` successes in `n` trials:
 * (p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n). Undefined for n = 0.
 */
export function wilsonInterval(wins: number, n: number, z = Z_95): { low: number; high: number } | undefined {
  if (n <= 0) return undefined;
  const p = wins / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = p + z2 / (2 * n);
  const half = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, (centre - half) / denominator), high: Math.min(1, (centre + half) / denominator) };
}

/**
 * Bradley–Terry strengths by Hunter's MM algorithm (2004): p_i ← W_i / Σ_j n_ij / (p_i + p_j),
 * then normalised to sum 1, until no strength moves more than `tolerance`. W_i = wins of i,
 * n_ij = decided comparisons between i and j (both-bad votes carry no preference and are left
 * out). A configuration in no decided comparison has no strength (undefined); one that never
 * won tends to 0.
 */
export function bradleyTerry(count: number, votes: PairVote[], options: { maxIterations?: number; tolerance?: number } = {}): Array<number | undefined> {
  const maxIterations = options.maxIterations ?? 10_000;
  const tolerance = options.tolerance ?? 1e-12;
  const wins = new Array<number>(count).fill(0);
  const n = Array.from({ length: count }, () => new Array<number>(count).fill(0));
  for (const v of votes) {
    if (v.winner === undefined || v.a === v.b) continue;
    n[v.a][v.b]++;
    n[v.b][v.a]++;
    wins[v.winner]++;
  }
  const active = n.map((row) => row.some((x) => x > 0));
  const activeCount = active.filter(Boolean).length;
  if (activeCount === 0) return new Array<number | undefined>(count).fill(undefined);
  let p = active.map((on) => (on ? 1 / activeCount : 0));
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    const next = p.map((pi, i) => {
      if (!active[i]) return 0;
      let denominator = 0;
      for (let j = 0; j < count; j++) if (j !== i && n[i][j] > 0) denominator += n[i][j] / (pi + p[j]);
      return denominator > 0 ? wins[i] / denominator : 0;
    });
    const sum = next.reduce((t, x) => t + x, 0) || 1;
    const normalised = next.map((x) => x / sum);
    const moved = Math.max(...normalised.map((x, i) => Math.abs(x - p[i])));
    p = normalised;
    if (moved < tolerance) break;
  }
  return p.map((x, i) => (active[i] ? x : undefined));
}

/** Rank 1 = strongest; ties share the better rank; configurations without a strength have none. */
export function ranks(strengths: Array<number | undefined>): Array<number | undefined> {
  return strengths.map((s) => (s === undefined ? undefined : 1 + strengths.filter((t) => t !== undefined && t > s + 1e-12).length));
}
