/**
 * TEST INFRASTRUCTURE, not used in production: a local stand-in for Replicate's predictions
 * API (https://replicate.com/docs/reference/http), so the Replicate adapter can be contract
 * tested offline. It implements the documented routes the adapter uses:
 *
 *   POST /v1/models/{owner}/{name}/predictions   (official models, body { input })
 *   POST /v1/predictions                         (any model, body { version, input })
 *   GET  /v1/predictions/{id}
 *   POST /v1/predictions/{id}/cancel
 *
 * with bearer-token auth, `Prefer: wait[=n]` sync mode, statuses starting → processing →
 * succeeded | failed | canceled, and error bodies shaped like Replicate's problem details.
 * The "model" is FLUX.1 Kontext multi-image shaped (`input_image_1`, `input_image_2`, `prompt`,
 * `aspect_ratio`, `output_format`): its output is a real PNG composed from the two input images,
 * served by this server at the URL in `output`. `behaviour` holds the failure-mode knobs.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import sharp from 'sharp';

export interface ScriptedReply {
  status: number;
  /** Sent as the `Retry-After` header (seconds or an HTTP date), when given. */
  retryAfter?: string;
  detail?: string;
}

export interface ReplicateFakeBehaviour {
  /** Bearer token every API request must carry; undefined accepts any (or none). */
  token: string | undefined;
  /** GETs of a prediction that still see `processing` before it reaches its outcome. */
  pollsUntilDone: number;
  outcome: 'succeeded' | 'failed';
  /** The prediction's `error` when `outcome` is `failed`. */
  failureMessage: string;
  /** Slow model: predictions stay `processing` until canceled. */
  neverFinish: boolean;
  /** Longest a `Prefer: wait` request is held open when the model is slow. */
  maxWaitHoldMs: number;
  /** Replies for the next API requests, consumed one per request, before any routing. */
  failNext: ScriptedReply[];
  /** Outage: every API request gets this reply while it is set. */
  failAll: ScriptedReply | undefined;
  /** Served instead of the composed image (to test size limits and content sniffing). */
  outputOverride: { body: Buffer; contentType: string } | undefined;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

type Status = 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled';

export interface FakePrediction {
  id: string;
  model: string;
  version: string;
  input: Record<string, unknown>;
  status: Status;
  error: string | null;
  polls: number;
  createdAt: string;
  completedAt: string | null;
  output: Promise<Buffer>;
}

/** Side of the fake model's square output for `aspect_ratio` 1:1 (FLUX's default ~1 MP). */
export const FAKE_OUTPUT_SIZE = 1024;

const DEFAULT_BEHAVIOUR: ReplicateFakeBehaviour = {
  token: undefined,
  pollsUntilDone: 1,
  outcome: 'succeeded',
  failureMessage: 'E006: the model could not process the input images',
  neverFinish: false,
  maxWaitHoldMs: 60_000,
  failNext: [],
  failAll: undefined,
  outputOverride: undefined,
};

const MAX_BODY_BYTES = 32 * 1024 * 1024;

export class ReplicateFakeServer {
  readonly behaviour: ReplicateFakeBehaviour;
  readonly requests: RecordedRequest[] = [];
  readonly predictions = new Map<string, FakePrediction>();
  private readonly holds = new Set<() => void>();
  private origin = '';

  private constructor(
    private readonly server: Server,
    behaviour: Partial<ReplicateFakeBehaviour>,
  ) {
    this.behaviour = { ...DEFAULT_BEHAVIOUR, failNext: [], ...behaviour };
  }

  static async start(behaviour: Partial<ReplicateFakeBehaviour> = {}): Promise<ReplicateFakeServer> {
    const server = createServer((req, res) => {
      fake.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) sendJson(res, 500, problem(500, 'Internal fake error', (error as Error).message));
        else res.destroy();
      });
    });
    // the handler above runs only once requests arrive, after `fake` exists
    const fake = new ReplicateFakeServer(server, behaviour);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    fake.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return fake;
  }

  /** What to pass as the Replicate client's `baseUrl`. */
  get baseUrl(): string {
    return `${this.origin}/v1`;
  }

  /** Recorded API requests whose method matches and whose path matches `path`. */
  requestsTo(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  get canceledIds(): string[] {
    return this.requestsTo('POST', /^\/v1\/predictions\/[^/]+\/cancel$/).map((r) => r.path.split('/')[3]);
  }

  async close(): Promise<void> {
    for (const release of this.holds) release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const method = req.method ?? 'GET';

    const file = /^\/files\/([\w-]+)\.png$/.exec(url.pathname);
    if (file && method === 'GET') return this.serveOutput(file[1], res);

    const body = await readJson(req);
    this.requests.push({ method, path: url.pathname, headers: req.headers, body });

    const scripted = this.behaviour.failAll ?? this.behaviour.failNext.shift();
    if (scripted) {
      if (scripted.retryAfter !== undefined) res.setHeader('Retry-After', scripted.retryAfter);
      return sendJson(res, scripted.status, problem(scripted.status, 'Scripted failure', scripted.detail ?? `fake status ${scripted.status}`));
    }
    const token = this.behaviour.token;
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
      return sendJson(res, 401, problem(401, 'Unauthenticated', 'You did not pass a valid authentication token'));
    }
    if (body === INVALID_JSON) return sendJson(res, 400, problem(400, 'Bad request', 'request body is not valid JSON'));

    const model = /^\/v1\/models\/([\w.-]+)\/([\w.-]+)\/predictions$/.exec(url.pathname);
    if (model && method === 'POST') return this.create(`${model[1]}/${model[2]}`, undefined, body, req, res);
    if (url.pathname === '/v1/predictions' && method === 'POST') {
      const version = isRecord(body) && typeof body.version === 'string' ? body.version : undefined;
      if (!version) return sendJson(res, 422, problem(422, 'Input validation failed', 'version: is required'));
      return this.create(version.includes(':') ? version.split(':')[0] : 'fake/versioned-model', version, body, req, res);
    }
    const get = /^\/v1\/predictions\/([\w-]+)$/.exec(url.pathname);
    if (get && method === 'GET') return this.get(get[1], res);
    const cancel = /^\/v1\/predictions\/([\w-]+)\/cancel$/.exec(url.pathname);
    if (cancel && method === 'POST') return this.cancel(cancel[1], res);
    sendJson(res, 404, problem(404, 'Not found', `no route ${method} ${url.pathname}`));
  }

  private async create(model: string, version: string | undefined, body: unknown, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const input = isRecord(body) && isRecord(body.input) ? body.input : undefined;
    const invalid: string[] = [];
    if (!input) invalid.push('input: is required');
    else {
      if (typeof input.prompt !== 'string' || input.prompt.trim() === '') invalid.push('prompt: is required');
      for (const field of ['input_image_1', 'input_image_2']) if (typeof input[field] !== 'string') invalid.push(`${field}: is required`);
      if (input.aspect_ratio !== undefined && input.aspect_ratio !== '1:1' && input.aspect_ratio !== 'match_input_image') {
        invalid.push(`aspect_ratio: ${JSON.stringify(input.aspect_ratio)} is not supported by the fake`);
      }
    }
    if (!input || invalid.length > 0) return sendJson(res, 422, problem(422, 'Input validation failed', invalid.map((i) => `- ${i}`).join('\n')));

    const prediction: FakePrediction = {
      id: randomUUID().replace(/-/g, '').slice(0, 26),
      model,
      version: version ?? 'hidden',
      input,
      status: 'starting',
      error: null,
      polls: 0,
      createdAt: new Date().toISOString(),
      completedAt: null,
      output: composeOutput(input),
    };
    // Composition errors surface as a failed prediction, not as an unhandled rejection.
    prediction.output.catch(() => undefined);
    this.predictions.set(prediction.id, prediction);

    const wait = preferWaitSeconds(req.headers.prefer === undefined ? undefined : String(req.headers.prefer));
    if (wait !== undefined) {
      if (this.behaviour.neverFinish) await this.hold(Math.min(wait * 1000, this.behaviour.maxWaitHoldMs), prediction);
      else await this.finish(prediction);
    }
    sendJson(res, 201, await this.toJson(prediction));
  }

  private async get(id: string, res: ServerResponse): Promise<void> {
    const prediction = this.predictions.get(id);
    if (!prediction) return sendJson(res, 404, problem(404, 'Not found', `no prediction ${id}`));
    if (!isTerminal(prediction.status) && !this.behaviour.neverFinish) {
      prediction.polls += 1;
      if (prediction.polls > this.behaviour.pollsUntilDone) await this.finish(prediction);
      else prediction.status = 'processing';
    } else if (prediction.status === 'starting') {
      prediction.status = 'processing';
    }
    sendJson(res, 200, await this.toJson(prediction));
  }

  private async cancel(id: string, res: ServerResponse): Promise<void> {
    const prediction = this.predictions.get(id);
    if (!prediction) return sendJson(res, 404, problem(404, 'Not found', `no prediction ${id}`));
    if (!isTerminal(prediction.status)) {
      prediction.status = 'canceled';
      prediction.completedAt = new Date().toISOString();
    }
    sendJson(res, 200, await this.toJson(prediction));
  }

  private async finish(prediction: FakePrediction): Promise<void> {
    if (isTerminal(prediction.status)) return;
    if (this.behaviour.outcome === 'failed') {
      prediction.status = 'failed';
      prediction.error = this.behaviour.failureMessage;
    } else {
      try {
        await prediction.output;
        prediction.status = 'succeeded';
      } catch (error) {
        prediction.status = 'failed';
        prediction.error = (error as Error).message;
      }
    }
    prediction.completedAt = new Date().toISOString();
  }

  /** Sync mode with a slow model: keep the request open, then answer with the current state. */
  private async hold(ms: number, prediction: FakePrediction): Promise<void> {
    prediction.status = 'processing';
    await new Promise<void>((resolve) => {
      const release = (): void => {
        clearTimeout(timer);
        this.holds.delete(release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      this.holds.add(release);
    });
  }

  private async toJson(p: FakePrediction): Promise<Record<string, unknown>> {
    return {
      id: p.id,
      model: p.model,
      version: p.version,
      input: p.input,
      logs: '',
      output: p.status === 'succeeded' ? `${this.origin}/files/${p.id}.png` : null,
      data_removed: false,
      error: p.error,
      status: p.status,
      source: 'api',
      created_at: p.createdAt,
      started_at: p.status === 'starting' ? null : p.createdAt,
      completed_at: p.completedAt,
      urls: {
        get: `${this.baseUrl}/predictions/${p.id}`,
        cancel: `${this.baseUrl}/predictions/${p.id}/cancel`,
        web: `${this.origin}/p/${p.id}`,
      },
      ...(p.status === 'succeeded' ? { metrics: { predict_time: 0.01 } } : {}),
    };
  }

  private async serveOutput(id: string, res: ServerResponse): Promise<void> {
    const prediction = this.predictions.get(id);
    if (!prediction || prediction.status !== 'succeeded') return sendJson(res, 404, problem(404, 'Not found', `no output for ${id}`));
    const override = this.behaviour.outputOverride;
    const body = override?.body ?? (await prediction.output);
    res.writeHead(200, { 'Content-Type': override?.contentType ?? 'image/png', 'Content-Length': body.length });
    res.end(body);
  }
}

/** The fake model: the first image fills the square, the second sits in the lower-right corner. */
async function composeOutput(input: Record<string, unknown>): Promise<Buffer> {
  const first = decodeDataUri(input.input_image_1, 'input_image_1');
  const second = decodeDataUri(input.input_image_2, 'input_image_2');
  const size = FAKE_OUTPUT_SIZE;
  const inset = Math.round(size * 0.4);
  const [background, overlay] = await Promise.all([
    sharp(first).resize(size, size, { fit: 'cover' }).removeAlpha().toBuffer(),
    sharp(second).resize(inset, inset, { fit: 'inside' }).png().toBuffer(),
  ]);
  const margin = Math.round(size * 0.05);
  const { width = inset, height = inset } = await sharp(overlay).metadata();
  return sharp(background)
    .composite([{ input: overlay, left: size - margin - width, top: size - margin - height }])
    .png()
    .toBuffer();
}

function decodeDataUri(value: unknown, field: string): Buffer {
  const match = typeof value === 'string' ? /^data:image\/[\w.+-]+;base64,(.+)$/s.exec(value) : null;
  if (!match) throw new Error(`${field}: the fake model only reads base64 data URIs of images`);
  return Buffer.from(match[1], 'base64');
}

function preferWaitSeconds(header: string | undefined): number | undefined {
  const match = header ? /(?:^|[,\s])wait(?:=(\d+))?(?:$|[,;\s])/.exec(header) : null;
  if (!match) return undefined;
  return Math.min(60, Math.max(1, match[1] ? Number(match[1]) : 60));
}

const isTerminal = (status: Status): boolean => status === 'succeeded' || status === 'failed' || status === 'canceled';

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const INVALID_JSON = Symbol('invalid json');

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > MAX_BODY_BYTES) throw new Error(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (total === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return INVALID_JSON;
  }
}

function problem(status: number, title: string, detail: string): Record<string, unknown> {
  return { title, detail, status };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
