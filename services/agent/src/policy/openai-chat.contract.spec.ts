import assert from 'node:assert/strict';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CatalogueSubjectProposer } from './catalogue-subject.proposer';
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
  segment: 'cat lovers',
  status: 'awaiting-subject',
  subject: { name: 'Bengal', reason: 'r' },
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
  const fallback = new CatalogueSubjectProposer();
  const client = (timeoutMs = 2_000) => new OpenAiChatClient({ baseUrl, model: 'test-model', apiKey: 'sk-test', timeoutMs });

  before(async () => {
    baseUrl = await server.start();
  });
  after(() => server.stop());
  beforeEach(() => {
    server.requests.length = 0;
    server.script = [];
  });

  it('proposer: POSTs a JSON-mode chat completion with the allowed subjects and returns the model\'s choice', async () => {
    server.script = [{ content: JSON.stringify({ name: 'Bengal', reason: 'Wild look for adventurous cat people.' }) }];
    const proposer = new OpenAiChatProposer({ client: client(), fallback });
    const proposal = await proposer.propose('adventurous cat people', ['Abyssinian']);
    assert.deepEqual(proposal, { name: 'Bengal', reason: 'Wild look for adventurous cat people.' });
    assert.equal(proposer.lastError, undefined);
    assert.equal(proposer.name, 'openai-chat:test-model');

    const [request] = server.requests;
    assert.equal(request.method, 'POST');
    assert.equal(request.url, '/v1/chat/completions');
    assert.equal(request.authorization, 'Bearer sk-test');
    assert.equal(request.body.model, 'test-model');
    assert.deepEqual(request.body.response_format, { type: 'json_object' });
    const user = JSON.parse(request.body.messages[1].content) as { segment: string; candidates: { name: string }[] };
    assert.equal(user.segment, 'adventurous cat people');
    assert.equal(user.candidates.length, 36);
    assert.ok(!user.candidates.some((c) => c.name === 'Abyssinian'), 'excluded subjects are not offered');
  });

  it('proposer: maps a display name the model returns onto the dataset name', async () => {
    server.script = [{ content: JSON.stringify({ name: 'English cocker spaniel', reason: 'Sporty family dog.' }) }];
    const proposal = await new OpenAiChatProposer({ client: client(), fallback }).propose('families', []);
    assert.equal(proposal.name, 'english_cocker_spaniel');
  });

  const failures: [string, Script, RegExp][] = [
    ['content that is not JSON', { content: 'Sure! I pick the Bengal.' }, /not valid JSON/],
    ['JSON without a reason', { content: JSON.stringify({ name: 'Bengal' }) }, /reason/],
    ['an excluded subject', { content: JSON.stringify({ name: 'Abyssinian', reason: 'x' }) }, /not one of the 36 allowed subjects/],
    ['HTTP 500', { status: 500, body: 'upstream exploded' }, /HTTP 500: upstream exploded/],
    ['a body that is not a chat completion', { raw: JSON.stringify({ error: 'nope' }) }, /chat-completions format: choices/],
  ];
  for (const [what, script, error] of failures) {
    it(`proposer: falls back to the catalogue on ${what} and exposes lastError`, async () => {
      server.script = [script];
      const proposer = new OpenAiChatProposer({ client: client(), fallback });
      const proposal = await proposer.propose('cat lovers in small apartments', ['Abyssinian']);
      assert.deepEqual(proposal, await fallback.propose('cat lovers in small apartments', ['Abyssinian']));
      assert.match(proposer.lastError?.message ?? '', error);
    });
  }

  it('proposer: falls back when the server does not answer within timeoutMs', async () => {
    server.script = [{ hang: true }];
    const proposer = new OpenAiChatProposer({ client: client(150), fallback });
    const proposal = await proposer.propose('outdoor-loving dog owners', []);
    assert.equal(proposal.name, 'german_shorthaired');
    assert.match(proposer.lastError?.message ?? '', /longer than 150 ms/);
  });

  it('proposer: falls back when nothing listens at baseUrl', async () => {
    const dead = new OpenAiChatClient({ baseUrl: 'http://127.0.0.1:9/v1', model: 'm', timeoutMs: 1_000 });
    const proposer = new OpenAiChatProposer({ client: dead, fallback });
    await proposer.propose('cat lovers', []);
    assert.match(proposer.lastError?.message ?? '', /failed/);
  });

  it('interpreter: answers documented replies by rule without calling the server', async () => {
    const interpreter = new OpenAiChatReplyInterpreter({ client: client() });
    assert.deepEqual(await interpreter.interpret('yes please', state), { kind: 'accept' });
    assert.deepEqual(await interpreter.interpret('show me a beagle', state), { kind: 'show-subject', subject: 'beagle' });
    assert.equal(server.requests.length, 0);
  });

  it('interpreter: asks the model about what the rules do not understand, and maps its subject onto the catalogue', async () => {
    server.script = [{ content: JSON.stringify({ intent: 'show-subject', subject: 'fluffy Persian cats' }) }];
    const interpreter = new OpenAiChatReplyInterpreter({ client: client() });
    const intent = await interpreter.interpret('honestly those fluffy persian ones would suit my brand better', state);
    assert.deepEqual(intent, { kind: 'show-subject', subject: 'Persian' });
    const user = JSON.parse(server.requests[0].body.messages[1].content) as { status: string; reply: string };
    assert.equal(user.status, 'awaiting-subject');
    assert.match(user.reply, /persian ones/);
  });

  it('interpreter: keeps the rules\' answer (unknown) when the model answers out of bounds', async () => {
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
