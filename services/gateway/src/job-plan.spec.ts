import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AdFormat } from '@adseed/contracts';
import { planJob, type PlanUnit } from './job-plan';

const unit = (segment: string, ...paths: string[]): PlanUnit => ({ segment, candidates: paths.map((path, rank) => ({ path, rank, score: 1 - rank / 10 })) });
const plan = (units: PlanUnit[], formats: AdFormat[], variants: number) =>
  planJob({
    jobId: 'j0000000001-00000000',
    tenant: 'acme',
    brandPath: 'brands/acme/p.png',
    formats,
    variants,
    units,
    requestedAt: '2026-12-01T00:00:00Z',
    paths: (i, f, v) => ({ adPath: `ads/acme/${i}-${f.replace(':', 'x')}-${v}.png`, provenancePath: `ads/acme/${i}.json` }),
  });

describe(planJob.name, () => {
  it('plans segment × format × variant, in that order, with sizes', () => {
    const ads = plan([unit('dogs', 's/a', 's/b'), unit('cats', 's/c', 's/d')], ['1:1', '1.91:1'], 2);
    assert.equal(ads.length, 8);
    assert.deepEqual(
      ads.map((a) => a.index),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
    assert.deepEqual(
      ads.slice(0, 4).map((a) => [a.segment, a.format, a.variant]),
      [
        ['dogs', '1:1', 1],
        ['dogs', '1:1', 2],
        ['dogs', '1.91:1', 1],
        ['dogs', '1.91:1', 2],
      ],
    );
    assert.deepEqual([ads[2].width, ads[2].height], [1200, 628]);
    assert.ok(ads.every((a) => a.total === 8));
  });

  it('gives variants different seeds from the ranking, best first', () => {
    const ads = plan([unit('dogs', 's/a', 's/b', 's/c')], ['1:1'], 3);
    assert.deepEqual(
      ads.map((a) => [a.seedPath, a.look]),
      [
        ['s/a', 0],
        ['s/b', 0],
        ['s/c', 0],
      ],
    );
    assert.deepEqual(
      ads.map((a) => a.scores?.rank),
      [0, 1, 2],
    );
  });

  it('passes over a seed another segment already uses in that format', () => {
    const ads = plan([unit('dogs', 's/a', 's/b'), unit('pets', 's/a', 's/c')], ['1:1', '9:16'], 1);
    assert.deepEqual(
      ads.map((a) => `${a.segment} ${a.format} ${a.seedPath}`),
      ['dogs 1:1 s/a', 'dogs 9:16 s/a', 'pets 1:1 s/c', 'pets 9:16 s/c'],
    );
  });

  it('takes the next look of a seed when seeds run out: seed, format and look never repeat', () => {
    const ads = plan([unit('dogs', 's/a', 's/b'), unit('cats', 's/a')], ['1:1', '4:5'], 4);
    const keys = ads.map((a) => `${a.seedPath}|${a.format}|${a.look}`);
    assert.equal(new Set(keys).size, ads.length);
    assert.deepEqual(
      ads.filter((a) => a.segment === 'cats' && a.format === '1:1').map((a) => a.look),
      [2, 3, 4, 5],
    );
  });

  it('pins the brand-kit version on every ad of the job, and names none without a kit', () => {
    const base = {
      jobId: 'j0000000001-00000000',
      tenant: 'acme',
      brandPath: 'brands/acme/p.png',
      formats: ['1:1', '4:5'] as AdFormat[],
      variants: 2,
      units: [unit('dogs', 's/a')],
      requestedAt: '2026-12-01T00:00:00Z',
      paths: () => ({ adPath: 'ads/acme/x.png', provenancePath: 'ads/acme/x.json' }),
    };
    assert.deepEqual(
      planJob({ ...base, brandKitVersion: 4 }).map((a) => a.brandKitVersion),
      [4, 4, 4, 4],
    );
    assert.ok(planJob(base).every((a) => !('brandKitVersion' in a)));
  });
});
