/**
 * The guardrails' share of one ad's time, through the product: `POST /v1/ads` (1080×1080 with a
 * headline and a call to action, local generator, embedded mode) with both guardrails on (text:
 * obscenity; image: nsfwjs MobileNetV2 on WebAssembly in a worker thread, which the gateway runs on the ad
 * when it registers it) against the same requests with both off, interleaved request by request so both
 * see the same machine. Beside it, the image guardrail alone on the very ads the product made
 * (the ad PNGs read back from the store), and the text guardrail alone on the request's texts.
 * Run: node services/standalone/bench/dist/guardrails.bench.js [ads per side, default 30]
 */
import { performance } from 'node:perf_hooks';
import { CompositeTextGuardrail, createImageGuardrail, GuardrailsEnv, ProfanityTextCheck } from '@adseed/guardrails';
import { startTestApp, type TestApp } from '@adseed/standalone/dist/e2e/harness';
import { library } from '@adseed/standalone/dist/e2e/job-fixtures';

type Json = Record<string, any>;

export interface Percentiles {
  p50Ms: number;
  p99Ms: number;
  n: number;
}

export interface GuardrailShareBench {
  /** `POST /v1/ads` wall time with both guardrails on / off. */
  adOn: Percentiles;
  adOff: Percentiles;
  /** nsfwjs on the generated ads (decode the 1080×1080 PNG, squash to 224, classify). */
  imagePerAd: Percentiles;
  /** The text guardrail on the ad's segment-less texts (headline + call to action), as the interceptor calls it. */
  textPerAd: Percentiles;
  /** (image p50 + text p50) / POST /v1/ads p50 with guardrails on. */
  share: number;
  flaggedAds: number;
}

const percentile = (sorted: number[], p: number): number => sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];
const stats = (times: number[]): Percentiles => {
  const sorted = [...times].sort((a, b) => a - b);
  return { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), n: sorted.length };
};

const HEADLINE = 'Spring is here: fresh gear for every trail';
const CTA = 'Shop now';

export async function benchGuardrailShare(adsPerSide = 30, warmUp = 3): Promise<GuardrailShareBench> {
  const on = await startTestApp({ env: { ADSEED_IMAGE_GUARDRAIL: 'nsfwjs' } });
  const off = await startTestApp({ env: { ADSEED_IMAGE_GUARDRAIL: 'off', ADSEED_PROFANITY_FILTER: 'false' } });
  try {
    const sides = await Promise.all([on, off].map(async (app) => ({ app, ...(await library(app)) })));
    const times: [number[], number[]] = [[], []];
    const adPaths: string[] = [];
    let flaggedAds = 0;
    const post = async (app: TestApp, seedPath: string, brandPath: string): Promise<{ ms: number; ad: Json }> => {
      const start = performance.now();
      const res = await app.api('/v1/ads', { method: 'POST', json: { seedPath, brandPath, headline: HEADLINE, callToAction: CTA } });
      const body = (await res.json()) as Json;
      const ms = performance.now() - start;
      if (res.status !== 201) throw new Error(`POST /v1/ads answered ${res.status}: ${JSON.stringify(body)}`);
      return { ms, ad: body.ad as Json };
    };
    for (let i = 0; i < warmUp + adsPerSide; i++) {
      // Alternate which side goes first, so neither always runs right after the other's work.
      const order = i % 2 === 0 ? [0, 1] : [1, 0];
      for (const side of order) {
        const { app, seedPaths, brandPath } = sides[side];
        const { ms, ad } = await post(app, seedPaths[i % seedPaths.length], brandPath);
        if (i < warmUp) continue;
        times[side].push(ms);
        if (side === 0) {
          adPaths.push(ad.path as string);
          if (ad.review?.status === 'flagged') flaggedAds++;
        }
      }
    }

    // The image guardrail alone, on the ads the product made.
    // The gateway's own construction, at the default model and thresholds.
    const image = createImageGuardrail(GuardrailsEnv.parse({ ADSEED_IMAGE_GUARDRAIL: 'nsfwjs' }))!;
    await image.warmUp();
    const pngs = await Promise.all(adPaths.map((p) => on.store.get(p.slice(0, p.indexOf('/')), p.slice(p.indexOf('/') + 1)).then((o) => o.body)));
    await image.check(pngs[0]);
    const imageTimes: number[] = [];
    for (const png of pngs) {
      const start = performance.now();
      await image.check(png);
      imageTimes.push(performance.now() - start);
    }
    await image.close?.();

    // The text guardrail alone, on the request's fields.
    const text = new CompositeTextGuardrail({ local: [new ProfanityTextCheck()] });
    const textTimes: number[] = [];
    for (let i = 0; i < 2_000; i++) {
      const fields = [
        { field: 'headline', text: `${HEADLINE} ${i}` },
        { field: 'callToAction', text: CTA },
      ];
      const start = performance.now();
      await text.check('demo', fields);
      if (i >= 100) textTimes.push(performance.now() - start);
    }

    const adOn = stats(times[0]);
    const imagePerAd = stats(imageTimes);
    const textPerAd = stats(textTimes);
    return { adOn, adOff: stats(times[1]), imagePerAd, textPerAd, share: (imagePerAd.p50Ms + textPerAd.p50Ms) / adOn.p50Ms, flaggedAds };
  } finally {
    await on.stop();
    await off.stop();
  }
}

if (require.main === module) {
  void benchGuardrailShare(Number(process.argv[2] ?? 30)).then((r) => {
    const f = (p: Percentiles) => `p50 ${p.p50Ms.toFixed(1)} ms / p99 ${p.p99Ms.toFixed(1)} ms (n=${p.n})`;
    process.stdout.write(
      [
        `POST /v1/ads, guardrails on   ${f(r.adOn)}`,
        `POST /v1/ads, guardrails off  ${f(r.adOff)}`,
        `image guardrail per ad        ${f(r.imagePerAd)}`,
        `text guardrail per ad         p50 ${r.textPerAd.p50Ms.toFixed(3)} ms / p99 ${r.textPerAd.p99Ms.toFixed(3)} ms (n=${r.textPerAd.n})`,
        `guardrails' share of an ad (p50): ${(100 * r.share).toFixed(1)} %; on − off p50: ${(r.adOn.p50Ms - r.adOff.p50Ms).toFixed(1)} ms; flagged ads: ${r.flaggedAds}`,
      ].join('\n') + '\n',
    );
    process.exit(0);
  });
}
