import { randomBytes, randomInt } from 'node:crypto';
import {
  assetContentUrl,
  CreateExperimentBody,
  type ConfigurationResult,
  type Experiment,
  type ExperimentConfiguration,
  type VoteBody,
} from '@adseed/contracts';
import { ServiceError } from '@adseed/messaging';
import { SERVICE_CONFIG, BUCKETS, LOGGER } from '@adseed/platform';
import { ObjectNotFoundError, OBJECT_STORE, type ObjectStore } from '@adseed/storage';
import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import type { Buckets } from '@adseed/config';
import type { Logger } from '@adseed/telemetry';
import { AssetsService } from './assets.service';
import { bradleyTerry, ranks, wilsonInterval, type PairVote } from './experiment-statistics';
import type { GatewayEnv } from './gateway.env';
import { ApiError } from './http-errors';
import { SingleAds } from './single-ads';
import type { Principal } from './roles';

const StoredExperiment = z.object({ id: z.string(), tenant: z.string(), request: CreateExperimentBody, createdAt: z.string(), createdBy: z.string() });
type StoredExperiment = z.infer<typeof StoredExperiment>;
const AdOutcome = z.union([
  z.object({ seed: z.number().int(), configuration: z.number().int(), path: z.string() }),
  z.object({ seed: z.number().int(), configuration: z.number().int(), code: z.string(), reason: z.string() }),
]);
type AdOutcome = z.infer<typeof AdOutcome>;
const Pair = z.object({
  pairId: z.string(),
  seed: z.number().int(),
  left: z.number().int(),
  right: z.number().int(),
  issuedTo: z.string(),
  issuedAt: z.string(),
});
type Pair = z.infer<typeof Pair>;
const Vote = z.object({
  pairId: z.string(),
  seed: z.number().int(),
  left: z.number().int(),
  right: z.number().int(),
  choice: z.enum(['left', 'right', 'both-bad']),
  voter: z.string(),
  at: z.string(),
});
type Vote = z.infer<typeof Vote>;

const ID = /^exp-[0-9a-z]{8,40}$/;
const PAIR_ID = /^[0-9a-f]{24}$/;
/** Ads made at once for one experiment (each is one request/reply to the generation service). */
const CONCURRENCY = 2;

/**
 * Blind A/B of generator configurations. Every configuration makes an ad from every seed with
 * the same brand (through the one-ad generation route, so each ad's path is an opaque uuid that
 * says nothing about its configuration); a reviewer is shown two ads of one seed, sides drawn at
 * random, and votes. State lives in the state bucket under `experiments/<tenant>/<id>/`:
 * `experiment.json`, `ads/<seed>-<configuration>.json`, `pairs/<pairId>.json` and
 * `votes/<pairId>.json` (one vote per pair, never rewritten).
 */
@Injectable()
export class ExperimentsService {
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(BUCKETS) private readonly buckets: Buckets,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_CONFIG) private readonly env: GatewayEnv,
    private readonly assets: AssetsService,
    private readonly ads: SingleAds,
  ) {}

  private get bucket(): string {
    return this.env.ADSEED_BUCKET_STATE;
  }

  async create(principal: Principal, body: CreateExperimentBody): Promise<Experiment> {
    const tenant = principal.tenant;
    await this.assets.assertBrandImage(tenant, body.brandPath);
    for (const [i, seed] of body.seedPaths.entries()) {
      if (!seed.startsWith(`${this.buckets.seed}/${tenant}/`)) {
        throw new ApiError(404, 'not_found', `seedPaths[${i}] is not one of this tenant's seed photos`, [
          { field: `seedPaths.${i}`, reason: 'no such seed for this tenant' },
        ]);
      }
    }
    const stored: StoredExperiment = {
      id: `exp-${Date.now().toString(36)}${randomBytes(5).toString('hex')}`,
      tenant,
      request: body,
      createdAt: new Date().toISOString(),
      createdBy: principal.actor,
    };
    await this.write(`${this.prefix(tenant, stored.id)}experiment.json`, stored);
    const run = this.generate(stored).finally(() => this.running.delete(stored.id));
    this.running.set(stored.id, run);
    return this.view(stored);
  }

  async get(tenant: string, id: string): Promise<Experiment> {
    return this.view(await this.stored(tenant, id));
  }

  /** Resolves when this process has made (or failed) every ad of the experiment. */
  async settled(id: string): Promise<void> {
    await this.running.get(id);
  }

  /** A pair of one seed's ads whose configurations have had the fewest votes together; sides at random. */
  async nextPair(principal: Principal, id: string) {
    const stored = await this.stored(principal.tenant, id);
    const [outcomes, votes] = await Promise.all([this.outcomes(stored), this.votes(stored)]);
    const made = new Map<string, string>();
    for (const o of outcomes) if ('path' in o) made.set(`${o.seed}-${o.configuration}`, o.path);
    const seen = new Map<string, number>();
    for (const v of votes) {
      const key = pairKey(v.seed, v.left, v.right);
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    const candidates: Array<{ seed: number; a: number; b: number; count: number }> = [];
    const configurations = stored.request.configurations.length;
    for (let seed = 0; seed < stored.request.seedPaths.length; seed++) {
      for (let a = 0; a < configurations; a++) {
        for (let b = a + 1; b < configurations; b++) {
          if (made.has(`${seed}-${a}`) && made.has(`${seed}-${b}`)) candidates.push({ seed, a, b, count: seen.get(pairKey(seed, a, b)) ?? 0 });
        }
      }
    }
    if (candidates.length === 0) return { pair: null };
    const fewest = Math.min(...candidates.map((c) => c.count));
    const pool = candidates.filter((c) => c.count === fewest);
    const chosen = pool[randomInt(pool.length)];
    const flip = randomInt(2) === 1;
    const pair: Pair = {
      pairId: randomBytes(12).toString('hex'),
      seed: chosen.seed,
      left: flip ? chosen.b : chosen.a,
      right: flip ? chosen.a : chosen.b,
      issuedTo: principal.actor,
      issuedAt: new Date().toISOString(),
    };
    await this.write(`${this.prefix(stored.tenant, stored.id)}pairs/${pair.pairId}.json`, pair);
    return {
      pair: {
        pairId: pair.pairId,
        seedPath: stored.request.seedPaths[pair.seed],
        brandPath: stored.request.brandPath,
        left: { url: assetContentUrl(made.get(`${pair.seed}-${pair.left}`)!) },
        right: { url: assetContentUrl(made.get(`${pair.seed}-${pair.right}`)!) },
      },
    };
  }

  async vote(principal: Principal, id: string, body: VoteBody): Promise<Experiment> {
    const stored = await this.stored(principal.tenant, id);
    const prefix = this.prefix(stored.tenant, stored.id);
    const pair = PAIR_ID.test(body.pairId) ? await this.read(`${prefix}pairs/${body.pairId}.json`, Pair) : undefined;
    if (!pair)
      throw new ApiError(404, 'not_found', `no pair ${body.pairId.slice(0, 64)} in this experiment`, [
        { field: 'pairId', reason: 'unknown pair (ask next-pair for one)' },
      ]);
    const voteKey = `${prefix}votes/${pair.pairId}.json`;
    if (await this.store.stat(this.bucket, voteKey))
      throw new ApiError(409, 'already_voted', 'this pair has a vote already; ask next-pair for another', [{ field: 'pairId', reason: 'already voted' }]);
    const vote: Vote = {
      pairId: pair.pairId,
      seed: pair.seed,
      left: pair.left,
      right: pair.right,
      choice: body.choice,
      voter: principal.actor,
      at: new Date().toISOString(),
    };
    await this.write(voteKey, vote);
    return this.view(stored);
  }

  private async generate(stored: StoredExperiment): Promise<void> {
    const { request, tenant } = stored;
    const work: Array<{ seed: number; configuration: number }> = [];
    for (let seed = 0; seed < request.seedPaths.length; seed++)
      for (let configuration = 0; configuration < request.configurations.length; configuration++) work.push({ seed, configuration });
    const next = async (): Promise<void> => {
      for (let item = work.shift(); item; item = work.shift()) await this.makeAd(stored, item.seed, item.configuration);
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, next)).catch((error: Error) =>
      this.logger.error('experiment generation stopped', { tenant, experiment: stored.id, error }),
    );
  }

  private async makeAd(stored: StoredExperiment, seed: number, index: number): Promise<void> {
    const { request, tenant } = stored;
    const configuration: ExperimentConfiguration = request.configurations[index];
    let outcome: AdOutcome;
    try {
      // background work: waits for the ad's event (generation is never a query)
      const { outcome: made } = await this.ads.request(
        {
          tenant,
          seedPath: request.seedPaths[seed],
          brandPath: request.brandPath,
          generator: configuration.generator,
          ...(request.headline ? { headline: request.headline } : {}),
          ...(request.callToAction ? { callToAction: request.callToAction } : {}),
          ...(request.segment ? { segment: request.segment } : {}),
          ...(configuration.placement !== 'auto' ? { corner: configuration.placement } : {}),
          ...(configuration.packScale !== 1 ? { packScale: configuration.packScale } : {}),
          ...(configuration.promptTemplate ? { promptTemplate: configuration.promptTemplate } : {}),
        },
        { origin: 'experiment', waitMs: 300_000 },
      );
      if (!made) throw new ServiceError(504, 'generation_timeout', 'the ad was not made within 300 s');
      if (made.error || !made.ad) throw ServiceError.fromPayload(made.error ?? { status: 500, code: 'internal', message: 'generation answered without an ad' });
      const ad = made.ad;
      outcome = { seed, configuration: index, path: ad.path };
    } catch (error) {
      const code = error instanceof ServiceError ? error.code : 'generation_failed';
      outcome = { seed, configuration: index, code, reason: (error as Error).message.slice(0, 500) };
    }
    await this.write(`${this.prefix(tenant, stored.id)}ads/${seed}-${index}.json`, outcome);
  }

  private async view(stored: StoredExperiment): Promise<Experiment> {
    const [outcomes, votes] = await Promise.all([this.outcomes(stored), this.votes(stored)]);
    const configurations = stored.request.configurations;
    const total = stored.request.seedPaths.length * configurations.length;
    const made = outcomes.filter((o) => 'path' in o).length;
    const failures = outcomes.flatMap((o) =>
      'code' in o ? [{ configuration: configurations[o.configuration].name, seedPath: stored.request.seedPaths[o.seed], code: o.code, reason: o.reason }] : [],
    );
    return {
      id: stored.id,
      name: stored.request.name,
      status: outcomes.length < total ? 'generating' : made === 0 ? 'failed' : 'ready',
      brandPath: stored.request.brandPath,
      seedPaths: stored.request.seedPaths,
      configurations,
      ads: { made, failed: failures.length, total },
      failures,
      votes: votes.length,
      results: results(
        configurations.map((c) => c.name),
        votes,
      ),
      createdAt: stored.createdAt,
    };
  }

  private async stored(tenant: string, id: string): Promise<StoredExperiment> {
    const stored = ID.test(id) ? await this.read(`${this.prefix(tenant, id)}experiment.json`, StoredExperiment) : undefined;
    if (!stored || stored.tenant !== tenant)
      throw new ApiError(404, 'not_found', `no experiment ${id.slice(0, 64)}`, [{ field: 'id', reason: 'unknown experiment for this tenant' }]);
    return stored;
  }

  private outcomes(stored: StoredExperiment): Promise<AdOutcome[]> {
    return this.readAll(`${this.prefix(stored.tenant, stored.id)}ads/`, AdOutcome);
  }

  private votes(stored: StoredExperiment): Promise<Vote[]> {
    return this.readAll(`${this.prefix(stored.tenant, stored.id)}votes/`, Vote);
  }

  private async readAll<T>(prefix: string, schema: z.ZodType<T>): Promise<T[]> {
    const out: T[] = [];
    let startAfter: string | undefined;
    do {
      const page = await this.store.list(this.bucket, prefix, { limit: 1000, ...(startAfter ? { startAfter } : {}) });
      out.push(...(await Promise.all(page.items.map(async (i) => schema.parse(JSON.parse((await this.store.get(this.bucket, i.key)).body.toString('utf8')))))));
      startAfter = page.nextStartAfter;
    } while (startAfter);
    return out;
  }

  private async read<T>(key: string, schema: z.ZodType<T>): Promise<T | undefined> {
    try {
      return schema.parse(JSON.parse((await this.store.get(this.bucket, key)).body.toString('utf8')));
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return undefined;
      throw error;
    }
  }

  private async write(key: string, value: unknown): Promise<void> {
    await this.store.put(this.bucket, key, Buffer.from(JSON.stringify(value)), { contentType: 'application/json' });
  }

  private prefix(tenant: string, id: string): string {
    return `experiments/${tenant}/${id}/`;
  }
}

const pairKey = (seed: number, a: number, b: number): string => `${seed}:${Math.min(a, b)}:${Math.max(a, b)}`;

/** Per configuration: wins, losses, both-bad, win rate with its 95 % Wilson interval, Bradley–Terry strength and rank. */
export function results(names: string[], votes: Array<Pick<Vote, 'left' | 'right' | 'choice'>>): ConfigurationResult[] {
  const pairVotes: PairVote[] = votes.map((v) => ({
    a: v.left,
    b: v.right,
    ...(v.choice === 'left' ? { winner: v.left } : v.choice === 'right' ? { winner: v.right } : {}),
  }));
  const strengths = bradleyTerry(names.length, pairVotes);
  const rank = ranks(strengths);
  return names.map((configuration, i) => {
    const mine = pairVotes.filter((v) => v.a === i || v.b === i);
    const wins = mine.filter((v) => v.winner === i).length;
    const bothBad = mine.filter((v) => v.winner === undefined).length;
    const comparisons = mine.length;
    const interval = wilsonInterval(wins, comparisons);
    return {
      configuration,
      comparisons,
      wins,
      losses: comparisons - wins - bothBad,
      bothBad,
      winRate: comparisons ? wins / comparisons : null,
      winRate95: interval ?? null,
      strength: strengths[i] ?? null,
      rank: rank[i] ?? null,
    };
  });
}
