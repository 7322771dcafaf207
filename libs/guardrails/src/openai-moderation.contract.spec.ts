import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { OpenAiModerationRepository } from './openai-moderation.repository';
import { ProfanityTextCheck } from './profanity.text-check';
import { CompositeTextGuardrail } from './text-guardrail';
import { ModerationUnavailableError } from './text-guardrail.port';

interface RecordedRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  body: { model?: string; input: string[] };
}

type Script = { flag: Record<string, string[]> } | { status: number; body: string } | { hang: true } | { raw: string };

/**
 * A local stand-in for an OpenAI-compatible moderation server: answers in OpenAI's
 * `/moderations` format, flagging inputs that contain a scripted marker with its categories.
 */
class FakeModerationServer {
  readonly requests: RecordedRequest[] = [];
  script: Script[] = [];
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RecordedRequest['body'];
    this.requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
    const next = this.script.shift() ?? { status: 500, body: 'no scripted answer' };
    if ('hang' in next) return;
    if ('status' in next) {
      res.writeHead(next.status, { 'content-type': 'text/plain' }).end(next.body);
      return;
    }
    if ('raw' in next) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(next.raw);
      return;
    }
    const names = ['harassment', 'hate', 'sexual', 'violence', 'self-harm'];
    const results = body.input.map((text) => {
      const hit = Object.entries(next.flag).find(([marker]) => text.includes(marker))?.[1] ?? [];
      return {
        flagged: hit.length > 0,
        categories: Object.fromEntries(names.map((n) => [n, hit.includes(n)])),
        category_scores: Object.fromEntries(names.map((n) => [n, hit.includes(n) ? 0.97 : 0.01])),
      };
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'modr-test', model: body.model ?? 'default', results }));
  }
}

describe('OpenAI-compatible moderation endpoint (contract test against a local server)', () => {
  const server = new FakeModerationServer();
  let baseUrl = '';
  const repository = (timeoutMs = 2_000) => new OpenAiModerationRepository({ baseUrl, model: 'omni-moderation-latest', apiKey: 'sk-test', timeoutMs });
  const fields = [
    { field: 'segment', text: 'dog owners who hate mondays' },
    { field: 'headline', text: 'MARKER-threat we will hurt you' },
  ];

  before(async () => {
    baseUrl = await server.start();
  });
  after(() => server.stop());
  beforeEach(() => {
    server.requests.length = 0;
    server.script = [];
  });

  it('POSTs every field in one request to {base}/moderations and maps flagged results to their fields and categories', async () => {
    server.script = [{ flag: { 'MARKER-threat': ['harassment', 'violence'] } }];
    const findings = await repository().check('demo', fields);
    assert.deepEqual(findings, [
      { field: 'headline', category: 'harassment', source: 'moderation' },
      { field: 'headline', category: 'violence', source: 'moderation' },
    ]);
    const [request] = server.requests;
    assert.equal(request.method, 'POST');
    assert.equal(request.url, '/v1/moderations');
    assert.equal(request.authorization, 'Bearer sk-test');
    assert.deepEqual(request.body, { model: 'omni-moderation-latest', input: fields.map((f) => f.text) });
  });

  it('returns no findings when nothing is flagged', async () => {
    server.script = [{ flag: {} }];
    assert.deepEqual(await repository().check('demo', fields), []);
  });

  const failures: [string, Script, RegExp][] = [
    ['HTTP 500', { status: 500, body: 'upstream saw: MARKER-threat' }, /answered HTTP 500$/],
    ['a body that is not JSON', { raw: 'not json' }, /not JSON/],
    ['a body outside the moderations format', { raw: JSON.stringify({ error: 'nope' }) }, /outside the moderations format: results/],
    ['fewer results than inputs', { raw: JSON.stringify({ results: [{ flagged: false, categories: {} }] }) }, /1 results for 2 inputs/],
  ];
  for (const [what, script, pattern] of failures) {
    it(`throws ModerationUnavailableError on ${what}, without echoing the server's body`, async () => {
      server.script = [script];
      await assert.rejects(repository().check('demo', fields), (error: unknown) => {
        assert.ok(error instanceof ModerationUnavailableError);
        assert.match(error.message, pattern);
        assert.doesNotMatch(error.message, /MARKER/);
        return true;
      });
    });
  }

  it('throws ModerationUnavailableError when the server does not answer within timeoutMs', async () => {
    server.script = [{ hang: true }];
    await assert.rejects(repository(150).check('demo', fields), /longer than 150 ms/);
  });

  it('throws ModerationUnavailableError when nothing listens at baseUrl', async () => {
    const dead = new OpenAiModerationRepository({ baseUrl: 'http://127.0.0.1:9/v1', timeoutMs: 1_000 });
    await assert.rejects(dead.check('demo', fields), (error: unknown) => error instanceof ModerationUnavailableError && /failed/.test(error.message));
  });

  it('composite: asks the endpoint only when the offline checks pass; fails closed by default, open when configured', async () => {
    const profanity = new ProfanityTextCheck();
    const closed = new CompositeTextGuardrail({ local: [profanity], remote: repository() });
    assert.deepEqual(await closed.check('demo', [{ field: 'segment', text: 'shit' }]), {
      allowed: false,
      findings: [{ field: 'segment', category: 'profanity', source: 'profanity' }],
    });
    assert.equal(server.requests.length, 0, 'the offline finding spared the round trip');

    server.script = [{ flag: { 'MARKER-threat': ['harassment'] } }];
    assert.deepEqual(await closed.check('demo', fields), { allowed: false, findings: [{ field: 'headline', category: 'harassment', source: 'moderation' }] });

    server.script = [{ status: 503, body: 'down' }];
    await assert.rejects(closed.check('demo', fields), ModerationUnavailableError);

    const failures: Error[] = [];
    const open = new CompositeTextGuardrail({ local: [profanity], remote: repository(), failOpen: true, onRemoteFailure: (e) => failures.push(e) });
    server.script = [{ status: 503, body: 'down' }];
    assert.deepEqual(await open.check('demo', fields), { allowed: true });
    assert.equal(failures.length, 1);
  });

  it('rejects a config it cannot use', () => {
    assert.throws(() => new OpenAiModerationRepository({ baseUrl: 'localhost:8080', timeoutMs: 1 }), /baseUrl/);
    assert.throws(() => new OpenAiModerationRepository({ baseUrl: 'ftp://x/v1', timeoutMs: 1 }), /http or https/);
    assert.throws(() => new OpenAiModerationRepository({ baseUrl: 'http://x/v1', timeoutMs: 0 }), /timeoutMs/);
  });
});
