/**
 * Adapter for Replicate (the only file importing the `replicate` client). It runs an image
 * model that takes the seed photo and the brand image together (FLUX.1 Kontext multi-image by
 * default) and returns its output as a PNG of the requested size (square, or a job's format).
 *
 * Resilience lives here, not in the client: the client's own retry loop ignores `Retry-After`
 * and does not wait between attempts (replicate 1.4.0, `withAutomaticRetries`), so the `fetch`
 * we give it retries 429/5xx itself (a cockatiel retry policy), honouring `Retry-After`, and
 * never hands a retryable response back. A circuit breaker (cockatiel's, `./circuit-breaker`)
 * turns an outage into an immediate 503 instead of every caller waiting out its own deadline.
 */
import { ServiceError } from '@adseed/messaging';
import { handleType, retry, type IBackoffFactory, type IRetryBackoffContext, type RetryPolicy } from 'cockatiel';
import Replicate, { type Prediction } from 'replicate';
import sharp from 'sharp';

import type { AdGenerator, AdRequest, GeneratedAd } from './ad-generator.port';
import { InvalidAdRequestError, InvalidImageError } from './ad-request.errors';
import { CircuitBreaker, CircuitOpenError, type CircuitState } from './circuit-breaker';
import { AD_SIZE_DEFAULT, AD_SIZE_MAX, AD_SIZE_MIN, CALL_TO_ACTION_MAX_CHARS, HEADLINE_MAX_CHARS } from './local-ad.generator';
import { normaliseAdText } from './text-layout';

export const REPLICATE_DEFAULT_MODEL = 'flux-kontext-apps/multi-image-kontext-pro';
export const REPLICATE_DEFAULT_BASE_URL = 'https://api.replicate.com/v1';
/** Same bounds as the GenerateAd contract, so a valid request is never refused here. */
export const SUBJECT_MAX_CHARS = 200;
export const SEGMENT_MAX_CHARS = 500;

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;
/** One wait before a retry: after which attempt, how long, and what went wrong. */
export type RetryEvent = { attempt: number; delayMs: number; failure: string };

export interface ReplicateAdGeneratorOptions {
  /** Replicate API token (secret; sent only to `baseUrl`, never to output URLs). */
  apiToken: string;
  /** `owner/name` of the model; used for the official-model route when `version` is absent. */
  model?: string;
  /** A version id (or `owner/name:version`); when set, predictions go to `POST /predictions`. */
  version?: string;
  baseUrl?: string;
  /** Deadline for one whole generation (create, wait, download). Default 25 s. */
  timeoutMs?: number;
  /** Sync mode: `Prefer: wait=n`, n capped to finish before the deadline; 0 disables. Default 60. */
  preferWaitSeconds?: number;
  /** Between status polls when the prediction is still running. Default 500 ms. */
  pollIntervalMs?: number;
  /** Attempts per HTTP request on 429, 5xx or connection failure. Default 3. */
  maxAttempts?: number;
  /** First back-off when the server gives no `Retry-After`; doubles per attempt. Default 500 ms. */
  retryBaseDelayMs?: number;
  /** Longest single wait before a retry; a longer `Retry-After` ends the attempts. Default 10 s. */
  maxRetryDelayMs?: number;
  /** Per HTTP request (a sync-mode create gets its wait on top). Default 15 s. */
  requestTimeoutMs?: number;
  /** Budget for the cancel request sent when the deadline passes. Default 5 s. */
  cancelTimeoutMs?: number;
  /** Largest accepted output download. Default 30 MiB. */
  maxOutputBytes?: number;
  /** Inputs are downscaled to fit this side before upload (keeps data URIs small). Default 1024. */
  maxInputSide?: number;
  /** Settings of this generator's circuit breaker. Default 5 consecutive outages, 30 s cooldown. */
  breaker?: { failureThreshold: number; cooldownMs: number };
  /** Transport; defaults to global fetch. */
  fetch?: FetchLike;
  /** Waits between status polls; injectable so tests need not sleep. */
  sleep?: Sleep;
  /** Told before each wait between retries of an HTTP request (for logs and tests). */
  onRetry?: (event: RetryEvent) => void;
}

type PreparedInput = {
  prompt: string;
  input_image_1: string;
  input_image_2: string;
  aspect_ratio: KontextAspect;
  output_format: 'png';
  /** Sampling seed: one per look, so the variants of one seed photo differ and repeat exactly. */
  seed?: number;
};

/** Kontext's aspect ratios; 1.91:1 asks for 2:1 and is cover-cropped to 1200×628 afterwards. */
type KontextAspect = '1:1' | '4:5' | '9:16' | '2:1';
function kontextAspect(width: number, height: number): KontextAspect {
  const ratio = width / height;
  if (Math.abs(ratio - 1) < 0.01) return '1:1';
  if (Math.abs(ratio - 0.8) < 0.01) return '4:5';
  if (ratio < 0.7) return '9:16';
  return '2:1';
}

/** An attempt worth repeating after `delayMs`: tells the retry policy to wait and try again. */
class RetryableFailure extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
  }
}

/** The retry policy waits as long as the failed attempt asked (`Retry-After`, or back-off). */
const waitAskedFor: IBackoffFactory<IRetryBackoffContext<unknown>> = {
  next: ({ result }) => ({
    duration: 'error' in result && result.error instanceof RetryableFailure ? result.error.delayMs : 0,
    next: (later) => waitAskedFor.next(later),
  }),
};

/** Retries ran out on 429/5xx/connection failures: the provider is unavailable right now. */
class UpstreamUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

class DeadlineExceededError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The provider answered, but the prediction produced nothing usable. */
class GenerationFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

interface Operation {
  signal: AbortSignal;
  /** `performance.now()` value after which no new wait may start. */
  deadlineAt: number;
}

const INPUT_FORMATS = new Set(['jpeg', 'png', 'webp']);
const MAX_INPUT_BYTES = 30 * 1024 * 1024;
const MAX_INPUT_PIXELS = 40_000_000;
const MAX_OUTPUT_PIXELS = 40_000_000;
const TERMINAL = new Set(['succeeded', 'failed', 'canceled', 'aborted']);

export class ReplicateAdGenerator implements AdGenerator {
  readonly name: string;
  private readonly apiToken: string;
  private readonly model: string;
  private readonly version: string | undefined;
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly preferWaitSeconds: number;
  private readonly pollIntervalMs: number;
  private readonly maxAttempts: number;
  private readonly retryBaseDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly requestTimeoutMs: number;
  private readonly cancelTimeoutMs: number;
  private readonly maxOutputBytes: number;
  private readonly maxInputSide: number;
  private readonly breaker: CircuitBreaker;
  private readonly transport: FetchLike;
  private readonly sleep: Sleep;
  private readonly retryPolicy: RetryPolicy;

  constructor(options: ReplicateAdGeneratorOptions) {
    if (!options.apiToken) throw new Error('ReplicateAdGenerator needs an API token: set REPLICATE_API_TOKEN');
    this.apiToken = options.apiToken;
    const version = options.version?.includes(':') ? options.version.split(':') : undefined;
    this.model = version?.[0] ?? options.model ?? REPLICATE_DEFAULT_MODEL;
    this.version = version?.[1] ?? options.version;
    this.name = `replicate:${this.model}`;
    this.baseUrl = options.baseUrl ?? REPLICATE_DEFAULT_BASE_URL;
    this.timeoutMs = options.timeoutMs ?? 25_000;
    this.preferWaitSeconds = Math.min(60, options.preferWaitSeconds ?? 60);
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 500;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 10_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
    this.cancelTimeoutMs = options.cancelTimeoutMs ?? 5_000;
    this.maxOutputBytes = options.maxOutputBytes ?? 30 * 1024 * 1024;
    this.maxInputSide = options.maxInputSide ?? 1024;
    // Only outages count against Replicate: a request it rightly refuses (bad input) or a
    // prediction that failed does not take the generator offline for everyone.
    this.breaker = new CircuitBreaker({
      ...(options.breaker ?? { failureThreshold: 5, cooldownMs: 30_000 }),
      isFailure: (error) => error instanceof UpstreamUnavailableError || error instanceof DeadlineExceededError,
    });
    this.transport = options.fetch ?? ((input, init) => fetch(input, init));
    this.sleep = options.sleep ?? abortableSleep;
    this.retryPolicy = retry(handleType(RetryableFailure), { maxAttempts: this.maxAttempts - 1, backoff: waitAskedFor });
    const onRetry = options.onRetry;
    if (onRetry) this.retryPolicy.onRetry((e) => 'error' in e && onRetry({ attempt: e.attempt, delayMs: e.delay, failure: e.error.message }));
  }

  /** For readiness/metrics: `open` means calls are currently refused without trying. */
  get circuitState(): CircuitState {
    return this.breaker.state;
  }

  async generate(request: AdRequest): Promise<GeneratedAd> {
    // Caller mistakes are found before the breaker, so they never count as an outage.
    const size = validateSize(request.size);
    const width = request.width ?? size;
    const height = request.height ?? size;
    const prompt = request.promptTemplate
      ? request.promptTemplate.replaceAll('{subject}', request.subject ?? 'the subject').replaceAll('{segment}', request.segment ?? 'everyone')
      : buildAdPrompt(request, width === height ? 'square' : width > height ? 'landscape' : 'portrait');
    const [seed, brand] = await Promise.all([this.toDataUri(request.seed, 'seed', 'jpeg'), this.toDataUri(request.brand, 'brand', 'png')]);
    const input: PreparedInput = {
      prompt,
      input_image_1: seed,
      input_image_2: brand,
      aspect_ratio: kontextAspect(width, height),
      output_format: 'png',
      ...(request.look !== undefined ? { seed: request.look } : {}),
    };
    try {
      const png = await this.breaker.run(() => this.predict(input, width, height));
      return { png, width, height, generator: this.name, model: { id: this.model, version: this.version ?? 'latest' }, prompt };
    } catch (error) {
      throw this.toServiceError(error);
    }
  }

  private async predict(input: PreparedInput, width: number, height: number): Promise<Buffer> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.timeoutMs);
    const op: Operation = { signal: deadline.signal, deadlineAt: performance.now() + this.timeoutMs };
    const client = this.client(op);
    let prediction: Prediction | undefined;
    try {
      // Sync mode must hand back before our deadline, or we could not cancel what we started.
      const waitSeconds = Math.min(this.preferWaitSeconds, Math.floor((op.deadlineAt - performance.now()) / 1000) - 1);
      prediction = await client.predictions.create({
        ...(this.version ? { version: this.version } : { model: this.model }),
        input,
        ...(waitSeconds >= 1 ? { wait: waitSeconds } : {}),
      });
      while (!TERMINAL.has(prediction.status)) {
        await this.sleep(this.pollIntervalMs, op.signal);
        prediction = await client.predictions.get(prediction.id);
      }
      if (prediction.status !== 'succeeded') {
        const reason =
          prediction.status === 'failed' ? `failed: ${describeUnknown(prediction.error) || 'no reason given'}` : `was ${prediction.status} on Replicate`;
        throw new GenerationFailedError(`prediction ${prediction.id} of ${this.name} ${reason}`);
      }
      const bytes = await this.download(firstOutput(prediction), op);
      return await toSizedPng(bytes, width, height, prediction.id);
    } catch (error) {
      if (!deadline.signal.aborted || error instanceof GenerationFailedError) throw error;
      // The deadline passed: stop paying for a prediction nobody will wait for.
      const running = prediction && !TERMINAL.has(prediction.status) ? prediction.id : undefined;
      const cancel = running ? await this.cancel(running) : undefined;
      throw new DeadlineExceededError(
        `Replicate did not finish within ${this.timeoutMs} ms` +
          (running ? (cancel === 'canceled' ? `; prediction ${running} was canceled` : `; canceling prediction ${running} failed: ${cancel}`) : ''),
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Returns 'canceled', or why the cancel did not go through (never throws). */
  private async cancel(id: string): Promise<string> {
    const signal = AbortSignal.timeout(this.cancelTimeoutMs);
    try {
      await this.client({ signal, deadlineAt: performance.now() + this.cancelTimeoutMs }).predictions.cancel(id);
      return 'canceled';
    } catch (error) {
      return describeUnknown(error);
    }
  }

  /** A client per operation, because its fetch carries that operation's deadline. */
  private client(op: Operation): Replicate {
    return new Replicate({ auth: this.apiToken, baseUrl: this.baseUrl, fetch: this.retryingFetch(op), userAgent: 'adseed-generation' });
  }

  /**
   * The client retries any error its fetch throws, without waiting, five more times. Once this
   * fetch has given up it keeps failing with the same error, so those extra rounds cost nothing
   * and the caller still sees why it gave up.
   */
  private retryingFetch(op: Operation): FetchLike {
    let gaveUp: { error: unknown } | undefined;
    return async (input, init = {}) => {
      if (gaveUp) throw gaveUp.error;
      try {
        return await this.fetchWithRetries(input, init, op);
      } catch (error) {
        gaveUp = { error };
        throw error;
      }
    };
  }

  /**
   * One HTTP request, repeated by a cockatiel retry policy on 429, 5xx and connection failures
   * while attempts and the deadline allow. Each attempt decides whether it is worth repeating and
   * after how long (`Retry-After`, else exponential back-off); the policy counts and waits.
   */
  private async fetchWithRetries(input: string | URL | Request, init: RequestInit, op: Operation): Promise<Response> {
    const method = (init.method ?? 'GET').toUpperCase();
    const what = `${method} ${describeUrl(input)}`;
    const perRequestMs = this.requestTimeoutMs + preferWaitOf(init.headers) * 1000;
    const attemptOnce = async (attempt: number): Promise<Response> => {
      if (op.signal.aborted) throw new DeadlineExceededError(`${what}: deadline reached`);
      const timeout = AbortSignal.timeout(perRequestMs);
      let failure: string;
      let retryAfterMs: number | undefined;
      try {
        const response = await this.transport(input, { ...init, signal: AbortSignal.any([op.signal, timeout]) });
        if (response.status !== 429 && response.status < 500) return response;
        retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Date.now());
        failure = `answered ${response.status}${await briefBody(response)}`;
      } catch (error) {
        if (op.signal.aborted) throw new DeadlineExceededError(`${what}: deadline reached`);
        const timedOut = timeout.aborted;
        failure = timedOut ? `did not answer within ${perRequestMs} ms` : `could not be reached (${describeUnknown(error)})`;
        // A create that may have reached the server is not repeated: it could start a second, paid prediction.
        if (method === 'POST' && !isConnectionRefusal(error)) throw new UpstreamUnavailableError(`Replicate ${what} ${failure}`);
      }
      if (attempt >= this.maxAttempts) throw new UpstreamUnavailableError(`Replicate ${what} ${failure} (gave up after ${attempt} attempts)`);
      if (retryAfterMs !== undefined && retryAfterMs > this.maxRetryDelayMs) {
        throw new UpstreamUnavailableError(
          `Replicate ${what} ${failure} and asked to retry after ${retryAfterMs} ms, longer than the ${this.maxRetryDelayMs} ms we wait`,
        );
      }
      const delay = retryAfterMs ?? Math.min(this.maxRetryDelayMs, this.retryBaseDelayMs * 2 ** (attempt - 1));
      if (performance.now() + delay >= op.deadlineAt) {
        throw new UpstreamUnavailableError(`Replicate ${what} ${failure}; the next attempt (in ${delay} ms) would be past the deadline`);
      }
      throw new RetryableFailure(failure, delay);
    };
    return this.retryPolicy.execute(({ attempt }) => attemptOnce(attempt + 1));
  }

  /** Output files are fetched without credentials: they live on a CDN, not on the API host. */
  private async download(output: string, op: Operation): Promise<Buffer> {
    if (output.startsWith('data:')) {
      const comma = output.indexOf(',');
      if (comma < 0 || !output.slice(0, comma).endsWith(';base64')) throw new GenerationFailedError('output is a data URI that is not base64');
      if (((output.length - comma - 1) * 3) / 4 > this.maxOutputBytes) throw new GenerationFailedError(`output is larger than ${this.maxOutputBytes} bytes`);
      return Buffer.from(output.slice(comma + 1), 'base64');
    }
    let url: URL;
    try {
      url = new URL(output);
    } catch {
      throw new GenerationFailedError(`output "${output.slice(0, 100)}" is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new GenerationFailedError(`output URL has protocol ${url.protocol}; expected https`);
    const response = await this.fetchWithRetries(url, { method: 'GET' }, op);
    if (!response.ok) throw new GenerationFailedError(`downloading the output ${url.pathname} answered ${response.status}`);
    const declared = Number(response.headers.get('content-length'));
    if (declared > this.maxOutputBytes) {
      await response.body?.cancel();
      throw new GenerationFailedError(`output is ${declared} bytes; the limit is ${this.maxOutputBytes}`);
    }
    if (!response.body) return Buffer.alloc(0);
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      total += chunk.length;
      if (total > this.maxOutputBytes) {
        await response.body.cancel().catch(() => undefined);
        throw new GenerationFailedError(`output is over the ${this.maxOutputBytes} byte limit`);
      }
      chunks.push(Buffer.from(chunk));
    }
    return Buffer.concat(chunks, total);
  }

  /** Checks the image header, then downscales and re-encodes so the upload stays small. */
  private async toDataUri(image: unknown, field: 'seed' | 'brand', as: 'jpeg' | 'png'): Promise<string> {
    if (!Buffer.isBuffer(image)) throw new InvalidImageError(field, 'must be the image file bytes (a Buffer)');
    if (image.length === 0) throw new InvalidImageError(field, 'is empty (0 bytes)');
    if (image.length > MAX_INPUT_BYTES) throw new InvalidImageError(field, `is ${image.length} bytes; the limit is ${MAX_INPUT_BYTES}`);
    let format: string | undefined;
    let pixels = 0;
    try {
      const metadata = await sharp(image, { limitInputPixels: false }).metadata();
      format = metadata.format;
      pixels = (metadata.width ?? 0) * (metadata.height ?? 0);
    } catch {
      throw new InvalidImageError(field, 'is not a readable image; send JPEG, PNG or WebP bytes');
    }
    if (!format || !INPUT_FORMATS.has(format)) throw new InvalidImageError(field, `has format "${format ?? 'unknown'}"; send JPEG, PNG or WebP`);
    if (pixels < 1) throw new InvalidImageError(field, 'has no pixels');
    if (pixels > MAX_INPUT_PIXELS) throw new InvalidImageError(field, `is ${pixels} pixels; the limit is ${MAX_INPUT_PIXELS}, downscale it first`);
    const resized = sharp(image, { limitInputPixels: MAX_INPUT_PIXELS })
      .rotate()
      .resize(this.maxInputSide, this.maxInputSide, { fit: 'inside', withoutEnlargement: true })
      .timeout({ seconds: 20 });
    const bytes = as === 'jpeg' ? await resized.flatten({ background: '#ffffff' }).jpeg({ quality: 88 }).toBuffer() : await resized.png().toBuffer();
    return `data:image/${as};base64,${bytes.toString('base64')}`;
  }

  private toServiceError(error: unknown): unknown {
    if (error instanceof ServiceError || error instanceof InvalidAdRequestError) return error;
    if (error instanceof CircuitOpenError) {
      const wait = error.retryAfterMs > 0 ? `try again in ${Math.ceil(error.retryAfterMs / 1000)} s` : 'a trial request is running, try again shortly';
      return new ServiceError(
        503,
        'generator_unavailable',
        `the image generator (${this.name}) is unavailable after ${error.consecutiveFailures} consecutive failures; ${wait}`,
      );
    }
    if (error instanceof UpstreamUnavailableError)
      return new ServiceError(503, 'generator_unavailable', `the image generator is unavailable: ${error.message}`);
    if (error instanceof DeadlineExceededError) return new ServiceError(504, 'generator_timeout', error.message);
    if (error instanceof GenerationFailedError) return new ServiceError(502, 'generation_failed', `the image generator failed: ${error.message}`);
    const status = apiErrorStatus(error);
    if (status === 401 || status === 403) {
      return new ServiceError(500, 'generator_misconfigured', `Replicate refused the API token (${status}): set a valid REPLICATE_API_TOKEN`);
    }
    if (status === 404) {
      return new ServiceError(
        500,
        'generator_misconfigured',
        `Replicate has no model ${this.version ?? this.model} (404): check REPLICATE_MODEL / REPLICATE_MODEL_VERSION`,
      );
    }
    if (status !== undefined) {
      return new ServiceError(502, 'generator_rejected_request', `Replicate refused the prediction (${status}): ${describeUnknown(error).slice(0, 400)}`);
    }
    return error;
  }
}

/**
 * The instruction for a two-image editing model: image 1 is the scene to keep, image 2 the
 * product to place. User text is quoted and stripped of quotes/control characters so it cannot
 * restructure the instruction.
 */
export function buildAdPrompt(
  request: Pick<AdRequest, 'subject' | 'segment' | 'headline' | 'callToAction' | 'brandKit'>,
  shape: 'square' | 'portrait' | 'landscape' = 'square',
): string {
  const subject = validateText(request.subject, 'subject', SUBJECT_MAX_CHARS);
  const segment = validateText(request.segment, 'segment', SEGMENT_MAX_CHARS);
  const headline = validateText(request.headline, 'headline', HEADLINE_MAX_CHARS);
  const callToAction = validateText(request.callToAction, 'callToAction', CALL_TO_ACTION_MAX_CHARS);
  const hero = subject ? `the ${subject}` : 'the main subject';
  const lines = [
    `Create a ${shape}, photorealistic advertising image from the two input images.`,
    `Image 1 is the scene: keep ${hero} as the hero, with the same appearance, pose, setting and lighting.`,
    'Image 2 is the brand product: place it naturally in the scene at a believable size, keeping its shape, packaging, logo, text and colours exactly as shown. Do not add other brands or logos.',
  ];
  if (segment) lines.push(`The ad is for ${segment}: match the mood and styling to that audience.`);
  // The brand kit's colours are the only part of it a prompt can carry (a model cannot take a font file; the logo is not a third input).
  const colours = brandColours(request.brandKit);
  if (headline)
    lines.push(
      `Render the headline "${headline}" in clean, legible type near the top, without covering ${hero}${colours ? `, in the colour ${colours.text}` : ''}.`,
    );
  if (callToAction)
    lines.push(
      `Add a call-to-action button reading "${callToAction}" near the product${colours ? `, the button in ${colours.primary} with its label in ${colours.secondary}` : ''}.`,
    );
  if (colours && !headline && !callToAction) lines.push(`Where the styling allows, echo the brand colours ${colours.primary} and ${colours.secondary}.`);
  if (!headline && !callToAction) lines.push('Do not add any text other than what is printed on the product.');
  return lines.join(' ');
}

/** The kit's colours when every one is a plain #rrggbb (anything else never reaches the prompt). */
function brandColours(kit: AdRequest['brandKit']): { primary: string; secondary: string; text: string } | undefined {
  if (!kit) return undefined;
  const { primary, secondary, text } = kit.colours;
  return [primary, secondary, text].every((c) => /^#[0-9a-fA-F]{6}$/.test(c)) ? { primary, secondary, text } : undefined;
}

function validateSize(size: number | undefined): number {
  if (size === undefined) return AD_SIZE_DEFAULT;
  if (!Number.isInteger(size) || size < AD_SIZE_MIN || size > AD_SIZE_MAX) {
    throw new InvalidAdRequestError('size', `must be an integer from ${AD_SIZE_MIN} to ${AD_SIZE_MAX}, got ${String(size)}`);
  }
  return size;
}

function validateText(text: string | undefined, field: string, maxChars: number): string | undefined {
  if (text === undefined) return undefined;
  if (typeof text !== 'string') throw new InvalidAdRequestError(field, 'must be a string');
  const normalised = normaliseAdText(text).replace(/["“”]/g, "'");
  const length = Array.from(normalised).length;
  if (length > maxChars) throw new InvalidAdRequestError(field, `is ${length} characters; the limit is ${maxChars}`);
  return normalised === '' ? undefined : normalised;
}

/** Kontext returns one URL; list-output models return several, and the first is the image. */
function firstOutput(prediction: Prediction): string {
  const output: unknown = prediction.output;
  const first: unknown = Array.isArray(output) ? output[0] : output;
  if (typeof first !== 'string' || first === '') {
    throw new GenerationFailedError(`prediction ${prediction.id} succeeded without an image URL in its output`);
  }
  return first;
}

const OUTPUT_FORMATS = new Set(['png', 'jpeg', 'webp']);
/** sharp's words when no loader recognises the bytes (as opposed to a loader failing on them). */
const NOT_AN_IMAGE = /unsupported image format|Input Buffer is empty/;

/**
 * The format is what libvips recognises in the header (sharp's `metadata()`), so an HTML error
 * page or a file of another kind is reported as such, not as a decoder error.
 */
async function toSizedPng(bytes: Buffer, targetWidth: number, targetHeight: number, id: string): Promise<Buffer> {
  const notAnImage = () =>
    new GenerationFailedError(`output of prediction ${id} is not a PNG, JPEG or WebP image (starts with ${bytes.subarray(0, 8).toString('hex') || 'nothing'})`);
  let format: string | undefined;
  try {
    const { format: read, width, height } = await sharp(bytes, { limitInputPixels: MAX_OUTPUT_PIXELS }).metadata();
    format = read;
    if (!OUTPUT_FORMATS.has(read)) throw notAnImage();
    if (format === 'png' && width === targetWidth && height === targetHeight) return bytes;
    return await sharp(bytes, { limitInputPixels: MAX_OUTPUT_PIXELS })
      .resize(targetWidth, targetHeight, { fit: 'cover' })
      .png({ compressionLevel: 3 })
      .timeout({ seconds: 20 })
      .toBuffer();
  } catch (error) {
    if (error instanceof GenerationFailedError) throw error;
    if (!format && NOT_AN_IMAGE.test(describeUnknown(error))) throw notAnImage();
    throw new GenerationFailedError(`output of prediction ${id} could not be decoded${format ? ` as ${format}` : ''}: ${describeUnknown(error)}`);
  }
}

/** `Retry-After` is either delta-seconds or an HTTP date; anything else is ignored. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

function preferWaitOf(headers: HeadersInit | undefined): number {
  const prefer = new Headers(headers).get('prefer');
  const match = prefer ? /wait(?:=(\d+))?/.exec(prefer) : null;
  if (!match) return 0;
  return match[1] ? Number(match[1]) : 60;
}

async function briefBody(response: Response): Promise<string> {
  try {
    const text = (await response.text()).replace(/\s+/g, ' ').trim();
    return text ? `: ${text.slice(0, 200)}` : '';
  } catch {
    return '';
  }
}

function describeUrl(input: string | URL | Request): string {
  const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
  return url.pathname;
}

function isConnectionRefusal(error: unknown): boolean {
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

function apiErrorStatus(error: unknown): number | undefined {
  if (!(error instanceof Error) || error.name !== 'ApiError') return undefined;
  const response = (error as Error & { response?: unknown }).response;
  return response instanceof Response ? response.status : undefined;
}

function describeUnknown(value: unknown): string {
  if (value instanceof Error) {
    const cause = (value as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${value.message}: ${cause.message}` : value.message;
  }
  return typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value);
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
