import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommonEnv, loadConfig } from '@adseed/config';
import {
  assetIdFor,
  AssetTopics,
  ConversationTopics,
  Queries,
  type Conversation,
  type EmbedTextsRequest,
  type SearchHit,
  type SearchReply,
  type SearchRequest,
} from '@adseed/contracts';
import { InProcessBroker, ServiceError } from '@adseed/messaging';
import { CLOCK, createRuntime, InProcessQueries, QUERY_CLIENT, type QueryClient, type ServiceRuntime } from '@adseed/platform';
import { FsObjectStore } from '@adseed/storage';
import { Test, type TestingModule } from '@nestjs/testing';
import { AgentEnv } from './agent.env';
import { AgentModule, AGENT_GROUP } from './agent.module';
import { bagOfWordsEmbedder } from './subjects/catalogue.test-kit';

const NOW = new Date('2026-09-10T11:12:13Z');
const DOG = 'seeds/acme/golden-retriever.jpg';

/** Retrieval and embedding as the agent reaches them through the query port: one dog photo, bag-of-words sentence vectors. */
class FakeUpstream implements QueryClient {
  readonly searches: SearchRequest[] = [];
  private readonly embed = bagOfWordsEmbedder();
  async call<Req, Res>(query: { method: string }, request: Req): Promise<Res> {
    if (query.method === Queries.search.method) {
      const r = request as SearchRequest;
      this.searches.push(r);
      const dog: SearchHit = { rank: 0, assetId: assetIdFor(DOG), path: DOG, score: 0.6, scores: { caption: 0.6 }, tags: ['dog'], belowFloor: false };
      const reply: SearchReply = {
        hits: /retriever|dog/.test(r.text) ? [dog] : [{ ...dog, score: 0.05, scores: { caption: 0.05 }, belowFloor: true }],
        encoders: {},
        fusion: 'rrf',
        floor: {},
      };
      return reply as Res;
    }
    assert.equal(query.method, Queries.embedTexts.method);
    const r = request as EmbedTextsRequest;
    return { caption: (await this.embed(r.texts)).map((v) => Array.from(v)), models: { caption: { id: 'bag-of-words', version: '1' } } } as Res;
  }
  async close(): Promise<void> {}
}

describe('AgentModule', () => {
  let dir: string;
  let broker: InProcessBroker;
  let queries: InProcessQueries;
  let store: FsObjectStore;
  let runtime: ServiceRuntime;
  let upstream: FakeUpstream;
  let moduleRef: TestingModule;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-agent-module-'));
    broker = new InProcessBroker();
    queries = new InProcessQueries();
    store = new FsObjectStore(join(dir, 'objects'));
    runtime = await createRuntime('agent', loadConfig(CommonEnv, { ADSEED_DATA_DIR: dir, LOG_LEVEL: 'error' }), {
      shared: { broker, store, queries },
      sink: () => undefined,
    });
    upstream = new FakeUpstream();
    const env = loadConfig(AgentEnv, { ADSEED_BUCKET_STATE: 'agent-state', ADSEED_CATALOGUE_SAVE_MS: '0' });
    moduleRef = await Test.createTestingModule({ imports: [AgentModule.forRoot(runtime, env, { http: false })] })
      .overrideProvider(QUERY_CLIENT)
      .useValue(upstream)
      .overrideProvider(CLOCK)
      .useValue(() => NOW)
      .compile();
    await moduleRef.init();
  });
  after(async () => {
    await moduleRef.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('adds a subject the overridden retrieval finds seeds for, and reports one it cannot as a seed gap', async () => {
    const added = await queries.call(Queries.catalogue, { type: 'add', tenant: 'acme', subject: { name: 'golden retriever' } });
    assert.equal(added.subjects?.[0].name, 'golden retriever');
    assert.deepEqual(
      added.subjects?.[0].exampleSeeds.map((s) => s.path),
      [DOG],
    );
    assert.deepEqual(
      upstream.searches.map((s) => [s.tenant, s.text, s.kind, s.minScore]),
      [['acme', 'golden retriever', 'seed', -1]],
    );

    await assert.rejects(
      queries.call(Queries.catalogue, { type: 'add', tenant: 'acme', subject: { name: 'unicorn' } }),
      (error: unknown) => error instanceof ServiceError && error.status === 422 && error.code === 'no_matching_seeds',
    );
    const gaps = await queries.call(Queries.catalogue, { type: 'seed-gaps', tenant: 'acme', limit: 10 });
    assert.deepEqual(
      gaps.gaps?.map((g) => [g.kind, g.text]),
      [['subject', 'unicorn']],
    );
    assert.deepEqual(
      (await queries.call(Queries.catalogue, { type: 'list', tenant: 'acme', includeDisabled: false })).subjects?.map((s) => s.name),
      ['golden retriever'],
    );
  });

  it('keeps its subject catalogue from the index events: an index of an ingest in flight at the deletion, arriving after it, brings nothing back', async () => {
    const path = 'seeds/cat/kayak.jpg';
    const assetId = assetIdFor(path);
    const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
    const indexed = (requestedAt: string | undefined, indexedAt: string) => ({
      key: assetId,
      value: {
        assetId,
        tenant: 'cat',
        path,
        changed: true,
        kind: 'seed' as const,
        caption: 'A kayak on a river',
        tags: [],
        indexedAt,
        ...(requestedAt ? { requestedAt } : {}),
      },
    });
    const names = async () => (await queries.call(Queries.catalogue, { type: 'list', tenant: 'cat', includeDisabled: false })).subjects?.map((s) => s.name);
    await runtime.bus.publish(AssetTopics.indexed, indexed(at(-3_000), at(-2_000)));
    await broker.whenIdle();
    assert.deepEqual(await names(), ['kayak']);
    await runtime.bus.publish(AssetTopics.deleted, { key: assetId, value: { assetId, tenant: 'cat', path, deletedAt: at(0) } });
    await broker.whenIdle();
    assert.deepEqual(await names(), []);
    await runtime.bus.publish(AssetTopics.indexed, indexed(at(-1_000), at(1_000)));
    await runtime.bus.publish(AssetTopics.indexed, indexed(undefined, at(-500)));
    await broker.whenIdle();
    assert.deepEqual(await names(), [], 'requested before the deletion, or (without a request time) indexed before it');
    await runtime.bus.publish(AssetTopics.indexed, indexed(at(2_000), at(3_000)));
    await broker.whenIdle();
    assert.deepEqual(await names(), ['kayak'], 'uploaded again after the deletion');
  });

  it('starts a conversation: proposes the library’s subject, stores it in the configured bucket and announces it', async () => {
    const conversation = await queries.call(Queries.conversation, { type: 'start', tenant: 'acme', segment: 'dog owners' });
    assert.equal(conversation.status, 'awaiting-subject');
    assert.equal(conversation.subject?.name, 'golden retriever');
    assert.equal(conversation.createdAt, NOW.toISOString(), 'the overridden clock');
    const stored = JSON.parse((await store.get('agent-state', `conversations/acme/${conversation.id}.json`)).body.toString('utf8')) as Conversation;
    assert.equal(stored.subject?.name, 'golden retriever');
    await broker.whenIdle();
    const announced = broker.read(ConversationTopics.updated.name).map((m) => JSON.parse(m.value) as Conversation);
    assert.deepEqual(
      announced.map((c) => c.id),
      [conversation.id],
    );
    assert.equal((await queries.call(Queries.conversation, { type: 'get', tenant: 'acme', conversationId: conversation.id })).id, conversation.id);
    assert.equal(AGENT_GROUP, 'agent');
  });
});
