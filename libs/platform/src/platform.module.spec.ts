import { CommonEnv, loadConfig } from '@adseed/config';
import { InProcessBroker, type EventBus } from '@adseed/messaging';
import { FsObjectStore, type ObjectStore } from '@adseed/storage';
import { Inject, Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PlatformModule } from './health.module';
import { createRuntime, type ServiceRuntime } from './service-runtime';
import { CLOCK, DATA_DIR, EVENT_BUS, OBJECT_STORE, SERVICE_CONFIG, type Clock } from './tokens';

@Injectable()
class UsesPorts {
  constructor(
    @Inject(EVENT_BUS) readonly bus: EventBus,
    @Inject(OBJECT_STORE) readonly store: ObjectStore,
    @Inject(SERVICE_CONFIG) readonly config: { readonly flavour: string },
    @Inject(DATA_DIR) readonly dataDir: string,
    @Inject(CLOCK) readonly now: Clock,
  ) {}
}

describe('PlatformModule', () => {
  let dir: string;
  let runtime: ServiceRuntime;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-platform-'));
    const store = new FsObjectStore(join(dir, 'objects'));
    runtime = await createRuntime('embedding', loadConfig(CommonEnv, { ADSEED_DATA_DIR: dir, LOG_LEVEL: 'error' }), {
      shared: { broker: new InProcessBroker(), store },
      sink: () => undefined,
    });
  });
  after(async () => {
    await runtime.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('provides the runtime’s ports, the service config and the clock as injection tokens', async () => {
    const fixed = new Date('2026-01-02T03:04:05Z');
    const moduleRef = await Test.createTestingModule({
      imports: [PlatformModule.forRoot(runtime, { http: false, config: { flavour: 'test' }, clock: () => fixed })],
      providers: [UsesPorts],
    }).compile();
    const uses = moduleRef.get(UsesPorts);
    assert.equal(uses.bus, runtime.bus);
    assert.equal(uses.store, runtime.store);
    assert.deepEqual(uses.config, { flavour: 'test' });
    assert.equal(uses.dataDir, runtime.dataDir);
    assert.equal(uses.now(), fixed);
    await moduleRef.close();
  });

  it('lets a test replace one port and keep the others', async () => {
    const store = { marker: 'fake' } as unknown as ObjectStore;
    const moduleRef = await Test.createTestingModule({
      imports: [PlatformModule.forRoot(runtime, { http: false })],
      providers: [UsesPorts],
    })
      .overrideProvider(OBJECT_STORE)
      .useValue(store)
      .compile();
    const uses = moduleRef.get(UsesPorts);
    assert.equal(uses.store, store);
    assert.equal(uses.bus, runtime.bus);
    assert.equal(uses.config, runtime.env, 'without a config of its own, the common env');
    assert.ok(Math.abs(uses.now().getTime() - Date.now()) < 60_000, 'the wall clock by default');
    // RuntimeShutdown would close the shared runtime here; the suite closes it once in after().
  });
});
