/**
 * Latency of the offline text guardrail (obscenity + a 1,000-term deny list) per text, the way
 * the gateway calls it: one check per request over that request's fields.
 * Run: node libs/guardrails/bench/dist/text-guardrail.bench.js [runs]
 */
import { performance } from 'node:perf_hooks';
import { CompositeTextGuardrail, DenyListTextCheck, ProfanityTextCheck } from '@adseed/guardrails';

export interface TextGuardrailBench {
  label: string;
  chars: number;
  runs: number;
  p50Ms: number;
  p99Ms: number;
}

const percentile = (sorted: number[], p: number): number => sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];

const WORDS = 'outdoor loving dog owners who hike on weekends and want healthy food for their active pets in the city'.split(' ');
/** Clean ad copy of about `chars` characters, varied per run so no cache or JIT shortcut sees the same string. */
const copy = (chars: number, seed: number): string => {
  const out: string[] = [];
  for (let i = seed, n = 0; n < chars; i++) {
    const w = WORDS[(i * 7) % WORDS.length];
    out.push(w);
    n += w.length + 1;
  }
  return out.join(' ').slice(0, chars);
};

export async function benchTextGuardrail(runs = 2_000): Promise<TextGuardrailBench[]> {
  const denyTerms = Array.from({ length: 1_000 }, (_, i) => `brand${i} term`);
  const guardrail = new CompositeTextGuardrail({ local: [new ProfanityTextCheck(), new DenyListTextCheck({ acme: denyTerms })] });
  const cases = [
    { label: 'segment (40 chars)', fields: (s: number) => [{ field: 'segment', text: copy(40, s) }] },
    { label: 'segment at its limit (500 chars)', fields: (s: number) => [{ field: 'segment', text: copy(500, s) }] },
    {
      label: 'ad: segment + headline + CTA (40 + 120 + 40)',
      fields: (s: number) => [
        { field: 'segment', text: copy(40, s) },
        { field: 'headline', text: copy(120, s + 1) },
        { field: 'callToAction', text: copy(40, s + 2) },
      ],
    },
  ];
  const results: TextGuardrailBench[] = [];
  for (const c of cases) {
    for (let i = 0; i < 50; i++) await guardrail.check('acme', c.fields(i)); // warm-up
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const fields = c.fields(i);
      const start = performance.now();
      const verdict = await guardrail.check('acme', fields);
      times.push(performance.now() - start);
      if (!verdict.allowed) throw new Error(`clean bench text was rejected: ${JSON.stringify(verdict.findings)}`);
    }
    times.sort((a, b) => a - b);
    results.push({
      label: c.label,
      chars: c.fields(0).reduce((n, f) => n + f.text.length, 0),
      runs,
      p50Ms: percentile(times, 50),
      p99Ms: percentile(times, 99),
    });
  }
  return results;
}

if (require.main === module) {
  void benchTextGuardrail(Number(process.argv[2] ?? 2_000)).then((rows) => {
    for (const r of rows) process.stdout.write(`${r.label.padEnd(48)} p50 ${r.p50Ms.toFixed(3)} ms  p99 ${r.p99Ms.toFixed(3)} ms  (${r.runs} runs)\n`);
  });
}
