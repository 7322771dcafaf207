import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommonEnv, loadConfig } from '@adseed/config';
import { JobTopics, newJobId, type AdGenerated, type AdRequested } from '@adseed/contracts';
import { InProcessBroker } from '@adseed/messaging';
import { createRuntime, PlatformModule, type ServiceRuntime } from '@adseed/platform';
import { Test } from '@nestjs/testing';
import { FsObjectStore } from '@adseed/storage';
import { GatewayEnv, STATE_BUCKET } from './gateway.env';
import { JobsRepository, type StoredJob } from './jobs.repository';
import { JobsService } from './jobs.service';

describe(JobsService.name, () => {
  let dir: string;
  let broker: InProcessBroker;
  let runtime: ServiceRuntime;
  let repository: JobsRepository;
  let service: JobsService;
  let seq = 0;
  const now = new Date('2026-12-01T10:00:00Z');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-jobs-service-'));
    broker = new InProcessBroker();
    const store = new FsObjectStore(join(dir, 'objects'));
    runtime = await createRuntime('gateway', loadConfig(CommonEnv, { ADSEED_DATA_DIR: dir, LOG_LEVEL: 'error' }), {
      shared: { broker, store },
      sink: () => undefined,
    });
    const moduleRef = await Test.createTestingModule({
      imports: [PlatformModule.forRoot(runtime, { http: false, config: loadConfig(GatewayEnv, {}), clock: () => now })],
      providers: [{ provide: STATE_BUCKET, useValue: 'state' }, JobsRepository, JobsService],
    }).compile();
    repository = moduleRef.get(JobsRepository);
    await repository.init();
    service = moduleRef.get(JobsService);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function storedJob(ads: number): Promise<StoredJob> {
    const id = newJobId(now, (seq++).toString(16).padStart(8, '0'));
    const plan: AdRequested[] = Array.from({ length: ads }, (_, index) => ({
      jobId: id,
      tenant: 'acme',
      index,
      total: ads,
      format: '1:1',
      width: 1080,
      height: 1080,
      variant: index + 1,
      look: 0,
      seedPath: `seeds/acme/${index}.jpg`,
      brandPath: 'brands/acme/p.png',
      adPath: `ads/acme/jobs/${id}/${index}.png`,
      provenancePath: `ads/acme/jobs/${id}/${index}.provenance.json`,
      requestedAt: now.toISOString(),
    }));
    const job: StoredJob = {
      id,
      tenant: 'acme',
      request: { brandPath: 'brands/acme/p.png', seedPaths: plan.map((a) => a.seedPath), formats: ['1:1'], variants: 1 },
      requestHash: 'h',
      ads: plan,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 86_400_000).toISOString(),
    };
    await repository.save(job);
    return job;
  }
  const generated = (ad: AdRequested, reused = false): AdGenerated => ({
    jobId: ad.jobId,
    tenant: ad.tenant,
    index: ad.index,
    format: ad.format,
    width: 1080,
    height: 1080,
    variant: ad.variant,
    seedPath: ad.seedPath,
    path: ad.adPath,
    provenancePath: ad.provenancePath,
    generator: 'local-composite',
    warnings: [],
    reused,
    generatedAt: now.toISOString(),
  });

  it('counts an ad once however often its event is delivered, and a late failure does not un-make it', async () => {
    const job = await storedJob(2);
    await service.recordGenerated(generated(job.ads[0]));
    await service.recordGenerated(generated(job.ads[0]));
    await service.recordGenerated(generated(job.ads[0], true));
    await service.recordFailed({
      jobId: job.id,
      tenant: 'acme',
      index: 0,
      format: '1:1',
      variant: 1,
      code: 'generation_failed',
      reason: 'late',
      failedAt: now.toISOString(),
    });
    let view = await service.get('acme', job.id);
    assert.equal(view.status, 'running');
    assert.deepEqual(view.progress, { done: 1, failed: 0, total: 2 });
    await service.recordFailed({
      jobId: job.id,
      tenant: 'acme',
      index: 1,
      format: '1:1',
      variant: 2,
      code: 'invalid_image',
      reason: 'seed: not a readable image',
      failedAt: now.toISOString(),
    });
    view = await service.get('acme', job.id);
    assert.equal(view.status, 'done');
    assert.deepEqual(view.progress, { done: 1, failed: 1, total: 2 });
    assert.deepEqual(
      view.failures.map((f) => [f.index, f.code]),
      [[1, 'invalid_image']],
    );
    assert.deepEqual(
      view.ads.map((a) => [a.index, a.url]),
      [[0, `/v1/assets/content?path=${encodeURIComponent(job.ads[0].adPath)}`]],
    );
  });

  it('ignores outcomes of a job it does not hold (deleted, or another tenant)', async () => {
    const job = await storedJob(1);
    await service.recordGenerated({ ...generated(job.ads[0]), tenant: 'other' });
    assert.deepEqual((await service.get('acme', job.id)).progress, { done: 0, failed: 0, total: 1 });
    await assert.rejects(service.get('other', job.id), /no job/);
  });

  it('resumes an unfinished job: publishes again exactly the ads without an outcome', async () => {
    const job = await storedJob(3);
    await service.recordGenerated(generated(job.ads[1]));
    const before = broker.read(JobTopics.adRequested.name).length;
    await service.resume();
    const republished = broker
      .read(JobTopics.adRequested.name)
      .slice(before)
      .map((m) => JSON.parse(m.value) as AdRequested)
      .filter((a) => a.jobId === job.id);
    assert.deepEqual(republished.map((a) => a.index).sort(), [0, 2]);
    assert.ok(
      broker
        .read(JobTopics.adRequested.name)
        .slice(before)
        .every((m) => m.key === `${JSON.parse(m.value).jobId}:${JSON.parse(m.value).index}`),
    );
  });

  it('cancels a running job (not a finished one) and then leaves it alone on resume', async () => {
    const job = await storedJob(2);
    await service.recordGenerated(generated(job.ads[0]));
    const cancelled = await service.cancel('acme', job.id);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(cancelled.cancelledAt, now.toISOString());
    const before = broker.read(JobTopics.adRequested.name).length;
    await service.resume();
    assert.equal(
      broker
        .read(JobTopics.adRequested.name)
        .slice(before)
        .filter((m) => JSON.parse(m.value).jobId === job.id).length,
      0,
    );
    const finished = await storedJob(1);
    await service.recordGenerated(generated(finished.ads[0]));
    assert.equal((await service.cancel('acme', finished.id)).status, 'done');
  });
});
