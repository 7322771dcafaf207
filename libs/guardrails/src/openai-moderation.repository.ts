import { z } from 'zod';
import { ModerationUnavailableError, type TextCheck, type TextField, type TextFinding } from './text-guardrail.port';

export interface OpenAiModerationConfig {
  /** The API root `/moderations` is appended to, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  /** Sent as `model`; omitted when empty (some compatible servers have one model only). */
  model?: string;
  /** Sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** For the whole request, response body included. */
  timeoutMs: number;
}

const ModerationResponse = z.object({
  results: z.array(
    z.object({
      flagged: z.boolean(),
      categories: z.record(z.string(), z.boolean().nullable()).optional(),
    }),
  ),
});

/**
 * The one adapter for an OpenAI-compatible moderation endpoint (`POST {baseUrl}/moderations`,
 * OpenAI's response format). All fields go in one request as an input array; result i belongs
 * to field i. Failures name the endpoint and the HTTP status but never echo the server's body,
 * which may quote the text under review.
 */
export class OpenAiModerationRepository implements TextCheck {
  readonly source = 'moderation' as const;
  readonly endpoint: string;

  constructor(private readonly config: OpenAiModerationConfig) {
    let url: URL;
    try {
      url = new URL(config.baseUrl);
    } catch {
      throw new Error(`moderation baseUrl must be an absolute http(s) URL, got "${config.baseUrl}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`moderation baseUrl must use http or https, got "${url.protocol}"`);
    if (!Number.isFinite(config.timeoutMs) || config.timeoutMs <= 0) throw new Error(`moderation timeoutMs must be positive, got ${config.timeoutMs}`);
    this.endpoint = `${config.baseUrl.replace(/\/+$/, '')}/moderations`;
  }

  async check(_tenant: string, fields: readonly TextField[]): Promise<TextFinding[]> {
    if (fields.length === 0) return [];
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.config.apiKey) headers.authorization = `Bearer ${this.config.apiKey}`;
    let status: number;
    let raw: string;
    try {
      const response = await fetch(this.endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({ ...(this.config.model ? { model: this.config.model } : {}), input: fields.map((f) => f.text) }),
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      status = response.status;
      raw = await response.text();
    } catch (error) {
      if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
        throw new ModerationUnavailableError(`moderation at ${this.endpoint} took longer than ${this.config.timeoutMs} ms`);
      }
      throw new ModerationUnavailableError(`moderation at ${this.endpoint} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (status < 200 || status >= 300) throw new ModerationUnavailableError(`moderation at ${this.endpoint} answered HTTP ${status}`);
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      throw new ModerationUnavailableError(`moderation at ${this.endpoint} answered with a body that is not JSON`);
    }
    const parsed = ModerationResponse.safeParse(json);
    if (!parsed.success)
      throw new ModerationUnavailableError(
        `moderation at ${this.endpoint} answered outside the moderations format: ${parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ')}`,
      );
    const { results } = parsed.data;
    if (results.length !== fields.length)
      throw new ModerationUnavailableError(`moderation at ${this.endpoint} returned ${results.length} results for ${fields.length} inputs`);
    const findings: TextFinding[] = [];
    results.forEach((result, i) => {
      if (!result.flagged) return;
      const categories = Object.entries(result.categories ?? {})
        .filter(([, on]) => on === true)
        .map(([name]) => name);
      for (const category of categories.length ? categories : ['flagged']) findings.push({ field: fields[i].field, category, source: this.source });
    });
    return findings;
  }
}
