import assert from 'node:assert/strict';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { catalogueForTests } from '../subjects/catalogue.test-kit';
import { LibrarySubjectProposer } from '../subjects/library-subject.proposer';
import { Conversation } from './conversation.model';
import { OpenAiChatClient } from './openai-chat.client';
import { OpenAiChatReplyInterpreter } from './openai-chat.interpreter';
import { OpenAiChatProposer } from './openai-chat.proposer';

interface RecordedRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  body: { model: string; messages: { role: string; content: string }[]; response_format: { type: string } };
}

/** What the fake server does with the next request: answer with model content, an HTTP error, or never answer. */
type Script = { content: string } | { status: number; body: string } | { hang: true } | { raw: string };

/** A local stand-in for an OpenAI-compatible server, speaking the chat-completions response format. */
class FakeChatServer {
  readonly requests: RecordedRequest[] = [];
  script: Script[] = [];
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/v1`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    this.requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization,
      body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as RecordedRequest['body'],
    });
    const next = this.script.shift() ?? { status: 500, body: 'no scripted answer' };
    if ('hang' in next) return;
    if ('status' in next) {
      res.writeHead(next.status, { 'content-type': 'text/plain' }).end(next.body);
      return;
    }
    const body =
      'raw' in next
        ? next.raw
        : JSON.stringify({
            id: 'chatcmpl-test',
            object: 'chat.completion',
            created: 0,
            model: 'test-model',
            choices: [{ index: 0, message: { role: 'assistant', content: next.content }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
          });
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  }
}

const state: Conversation = {
  id: 'c1',
  tenant: 'demo',
  segment: 'weekend campers',
  status: 'awaiting-subject',
  subject: { name: 'camping tent', reason: 'r' },
  seeds: [],
  seedIndex: 0,
  rejectedSubjects: [],
  messages: [],
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:00.000Z',
};

describe('OpenAI chat-completions providers (contract test against a local server)', () => {
  const server = new FakeChatServer();
  let baseUrl = '';
  // a tenant library of ten subjects, each with a description, for the proposer to choose among
  const { service: catalogue } = catalogueForTests();
  const library = [
    ['camping tent', 'A camping tent by a lake at dusk', 'Sleeps two, packs small'],
    ['hiking boots', 'Hiking boots on a rocky trail', 'Grip for long hikes'],
    ['running shoes', 'Running shoes on a city street at dawn', 'Light shoes for early runners'],
    ['coffee mug', 'A coffee mug on a home-office desk', 'The first coffee of a working day at home'],
    ['espresso machine', 'An espresso machine in a bright kitchen', 'Cafe coffee at home'],
    ['acoustic guitar', 'An acoustic guitar by a window', 'For weekend musicians'],
    ['road bike', 'A road bike leaning on a wall', 'Fast, light commuting'],
    ['picnic basket', 'A picnic basket on the grass', 'Sunny afternoons with the family'],
    ['wool blanket', 'A wool blanket on a sofa', 'Cosy evenings in'],
    ['electric car', 'An electric car charging in a driveway', 'Quiet, clean commuting'],
  ] as const;
  const fallback = new LibrarySubjectProposer({
    catalogue,
    embedTexts: async () => {
      throw new Error('no encoder in this test');
    },
    searchSeeds: async () => [],
    segmentFloor: 0.1,
  });
  const propose = (p: { propose: LibrarySubjectProposer['propose'] }, segment: string, exclude: string[]) => p.propose(segment, exclude, 'demo');
  const client = (timeoutMs = 2_000) => new OpenAiChatClient({ baseUrl, model: 'test-model', apiKey: 'sk-test', timeoutMs });

  before(async () => {
    await catalogue.update('demo', (c) => {
      library.forEach(([name, caption, description], i) => {
        c.applyIndexed({ assetId: `a${i}`, path: `seeds/demo/${i}.jpg`, caption, tags: [name] });
        c.edit(name, { description });
      });
    });
    baseUrl = await server.start();
  });
  after(() => server.stop());
  beforeEach(() => {
    server.requests.length = 0;
    server.script = [];
  });

  it("proposer: POSTs a JSON-mode chat completion with the allowed subjects and returns the model's choice", async () => {
    server.script = [{ content: JSON.stringify({ name: 'camping tent', reason: 'Campers sleep in one.' }) }];
    const proposer = new OpenAiChatProposer({ client: client(), library: fallback });
    const proposal = await propose(proposer, 'weekend campers', ['hiking boots']);
    assert.deepEqual(proposal, { name: 'camping tent', reason: 'Campers sleep in one.' });
    assert.equal(proposer.lastError, undefined);
    assert.equal(proposer.name, 'openai-chat:test-model');

    const [request] = server.requests;
    assert.equal(request.method, 'POST');
    assert.equal(request.url, '/v1/chat/completions');
    assert.equal(request.authorization, 'Bearer sk-test');
    assert.equal(request.body.model, 'test-model');
    assert.deepEqual(request.body.response_format, { type: 'json_object' });
    const user = JSON.parse(request.body.messages[1].content) as { segment: string; candidates: { name: string; description?: string }[] };
    assert.equal(user.segment, 'weekend campers');
    assert.equal(user.candidates.length, 9);
    assert.ok(!user.candidates.some((c) => c.name === 'hiking boots'), 'excluded subjects are not offered');
    assert.equal(user.candidates.find((c) => c.name === 'camping tent')?.description, 'Sleeps two, packs small', "the tenant's own descriptions are offered");
  });

  it('proposer: maps a differently written name the model returns onto the library subject', async () => {
    server.script = [{ content: JSON.stringify({ name: 'Camping-Tent', reason: 'Campers sleep in one.' }) }];
    const proposal = await propose(new OpenAiChatProposer({ client: client(), library: fallback }), 'families', []);
    assert.equal(proposal.name, 'camping tent');
  });

  const failures: [string, Script, RegExp][] = [
    ['content that is not JSON', { content: 'Sure! I pick the tent.' }, /not valid JSON/],
    ['JSON without a reason', { content: JSON.stringify({ name: 'camping tent' }) }, /reason/],
    ['an excluded subject', { content: JSON.stringify({ name: 'coffee mug', reason: 'x' }) }, /not one of the 9 allowed subjects/],
    ['a subject the library does not have', { content: JSON.stringify({ name: 'golden retriever', reason: 'x' }) }, /not one of the 9 allowed subjects/],
    ['HTTP 500', { status: 500, body: 'upstream exploded' }, /HTTP 500: upstream exploded/],
    ['a body that is not a chat completion', { raw: JSON.stringify({ error: 'nope' }) }, /chat-completions format: choices/],
  ];
  for (const [what, script, error] of failures) {
    it(`proposer: falls back to the library proposer on ${what} and exposes lastError`, async () => {
      server.script = [script];
      const proposer = new OpenAiChatProposer({ client: client(), library: fallback });
      const proposal = await propose(proposer, 'coffee lovers working from home', ['coffee mug']);
      assert.deepEqual(proposal, await propose(fallback, 'coffee lovers working from home', ['coffee mug']));
      assert.match(proposer.lastError?.message ?? '', error);
    });
  }

  it('proposer: falls back when the server does not answer within timeoutMs', async () => {
    server.script = [{ hang: true }];
    const proposer = new OpenAiChatProposer({ client: client(150), library: fallback });
    const proposal = await propose(proposer, 'coffee lovers working from home', []);
    assert.equal(proposal.name, 'coffee mug');
    assert.match(proposer.lastError?.message ?? '', /longer than 150 ms/);
  });

  it('proposer: falls back when nothing listens at baseUrl', async () => {
    const dead = new OpenAiChatClient({ baseUrl: 'http://127.0.0.1:9/v1', model: 'm', timeoutMs: 1_000 });
    const proposer = new OpenAiChatProposer({ client: dead, library: fallback });
    await propose(proposer, 'campers', []);
    assert.match(proposer.lastError?.message ?? '', /failed/);
  });

  it('interpreter: answers documented replies by rule without calling the server', async () => {
    const interpreter = new OpenAiChatReplyInterpreter({ client: client() });
    assert.deepEqual(await interpreter.interpret('yes please', state), { kind: 'accept' });
    assert.deepEqual(await interpreter.interpret('show me a tent', state), { kind: 'show-subject', subject: 'tent' });
    assert.equal(server.requests.length, 0);
  });

  it("interpreter: asks the model about what the rules do not understand, and maps its subject onto the tenant's subjects", async () => {
    server.script = [{ content: JSON.stringify({ intent: 'show-subject', subject: 'a lightweight road bike' }) }];
    const interpreter = new OpenAiChatReplyInterpreter({ client: client(), subjectsOf: async () => [{ name: 'road bike' }, { name: 'camping tent' }] });
    const intent = await interpreter.interpret('honestly those lightweight racing ones would suit my brand better', state);
    assert.deepEqual(intent, { kind: 'show-subject', subject: 'road bike' });
    const user = JSON.parse(server.requests[0].body.messages[1].content) as { status: string; reply: string };
    assert.equal(user.status, 'awaiting-subject');
    assert.match(user.reply, /racing ones/);
  });

  it("interpreter: keeps the rules' answer (unknown) when the model answers out of bounds", async () => {
    server.script = [{ content: JSON.stringify({ intent: 'buy-now' }) }];
    const interpreter = new OpenAiChatReplyInterpreter({ client: client() });
    assert.deepEqual(await interpreter.interpret('hmm, let me think about it', state), { kind: 'unknown' });
    assert.match(interpreter.lastError?.message ?? '', /intent/);
  });

  it('client: rejects a config it cannot use, naming the field', () => {
    assert.throws(() => new OpenAiChatClient({ baseUrl: 'localhost:8080', model: 'm', timeoutMs: 1 }), /baseUrl/);
    assert.throws(() => new OpenAiChatClient({ baseUrl: 'http://x/v1', model: ' ', timeoutMs: 1 }), /model/);
    assert.throws(() => new OpenAiChatClient({ baseUrl: 'http://x/v1', model: 'm', timeoutMs: 0 }), /timeoutMs/);
  });
});
