import { z } from 'zod';

export interface OpenAiChatConfig {
  /** the API root that `/chat/completions` is appended to, e.g. `https://api.openai.com/v1` or a local server's `/v1` */
  baseUrl: string;
  model: string;
  /** sent as `Authorization: Bearer`; local servers often need none */
  apiKey?: string;
  /** for the whole request, response body included */
  timeoutMs: number;
}

export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

const ChatCompletionResponse = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().nullable() }) })).min(1, 'must hold at least one choice'),
});

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/**
 * The one adapter for OpenAI-compatible chat-completions servers (OpenAI, vLLM, llama.cpp,
 * Ollama's /v1). Asks for a JSON object and returns it validated; every failure is an Error
 * whose message says what went wrong (HTTP status, timeout, bad JSON, which field).
 */
export class OpenAiChatClient {
  private readonly endpoint: string;

  constructor(private readonly config: OpenAiChatConfig) {
    let url: URL;
    try {
      url = new URL(config.baseUrl);
    } catch {
      throw new Error(`OpenAiChatConfig.baseUrl must be an absolute http(s) URL, got "${config.baseUrl}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`OpenAiChatConfig.baseUrl must use http or https, got "${url.protocol}"`);
    }
    if (config.model.trim() === '') throw new Error('OpenAiChatConfig.model must not be empty');
    if (!Number.isFinite(config.timeoutMs) || config.timeoutMs <= 0) {
      throw new Error(`OpenAiChatConfig.timeoutMs must be a positive number of milliseconds, got ${config.timeoutMs}`);
    }
    this.endpoint = `${config.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  }

  get model(): string {
    return this.config.model;
  }

  async completeJson<T>(messages: ChatTurn[], schema: z.ZodType<T>): Promise<T> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.config.apiKey) headers.authorization = `Bearer ${this.config.apiKey}`;
    let status: number;
    let body: string;
    try {
      const response = await fetch(this.endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          model: this.config.model,
          messages,
          temperature: 0,
          response_format: { type: 'json_object' },
        }),
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      status = response.status;
      body = await response.text();
    } catch (error) {
      if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
        throw new Error(`chat completion at ${this.endpoint} took longer than ${this.config.timeoutMs} ms`);
      }
      throw new Error(`chat completion at ${this.endpoint} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (status < 200 || status >= 300) {
      throw new Error(`chat completion at ${this.endpoint} answered HTTP ${status}: ${body.slice(0, 200)}`);
    }

    const envelope = ChatCompletionResponse.safeParse(this.parseJson(body, 'response body'));
    if (!envelope.success) throw new Error(`chat completion response is not in the chat-completions format: ${describeIssues(envelope.error)}`);
    const content = envelope.data.choices[0].message.content;
    if (content === null) throw new Error('chat completion returned no content');

    const answer = schema.safeParse(this.parseJson(content, 'message content'));
    if (!answer.success) throw new Error(`model answer does not match the expected JSON: ${describeIssues(answer.error)}`);
    return answer.data;
  }

  private parseJson(text: string, what: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`chat completion ${what} is not valid JSON: ${text.slice(0, 120)}`);
    }
  }
}
