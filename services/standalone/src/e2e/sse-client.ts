/** One dispatched server-sent event, with the connection (counted from 1) it came on. */
export interface ReceivedEvent {
  event: string;
  id: string | undefined;
  data: string;
  connection: number;
}

export interface SseClientOptions {
  headers?: Record<string, string>;
  /** Sent as `Last-Event-ID` on the first connection too (as a client that resumes a stream would). */
  lastEventId?: string;
  /** Reconnect when the stream ends or fails, as an EventSource does (default true). */
  reconnect?: boolean;
}

/**
 * A server-sent-events client with the EventSource reconnection rules (HTML § 9.2): it keeps the
 * last `id:` it saw, takes the server's `retry:` delay, reconnects after it with `Last-Event-ID`
 * when the stream ends or the connection fails, and stops for good on a 204. Unlike an
 * EventSource it records what a test needs: every event with its connection, every failed attempt.
 */
export class SseClient {
  readonly events: ReceivedEvent[] = [];
  /** Attempts that did not give a stream: the status, or the error's message. */
  readonly failures: string[] = [];
  /** Connections that answered 200 with a stream. */
  connections = 0;
  /** The reconnection delay; the spec leaves the default to the client, the server's `retry:` replaces it. */
  retryMs = 1_000;
  retrySeen = false;
  lastEventId: string | undefined;
  /** Set when the server answered 204: an EventSource stops reconnecting. */
  noContent = false;
  private closed = false;
  private readonly abort = new AbortController();
  private readonly running: Promise<void>;

  constructor(
    readonly url: string,
    private readonly options: SseClientOptions = {},
  ) {
    this.lastEventId = options.lastEventId;
    this.running = this.loop();
  }

  /** The data of every event named `name`, parsed as JSON. */
  states<T>(name = 'state'): T[] {
    return this.events.filter((e) => e.event === name).map((e) => JSON.parse(e.data) as T);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    await this.running;
  }

  /** Resolves when the client has stopped by itself: a 204, or a stream's end without `reconnect`. */
  get stopped(): Promise<void> {
    return this.running;
  }

  private async loop(): Promise<void> {
    for (;;) {
      try {
        const res = await fetch(this.url, {
          headers: { ...this.options.headers, accept: 'text/event-stream', ...(this.lastEventId !== undefined ? { 'last-event-id': this.lastEventId } : {}) },
          signal: this.abort.signal,
        });
        if (res.status === 204) {
          this.noContent = true;
          return;
        }
        if (res.status !== 200 || !res.body) {
          this.failures.push(`${res.status} ${await res.text()}`);
        } else {
          this.connections++;
          await this.read(res.body, this.connections);
        }
      } catch (error) {
        if (!this.closed) this.failures.push((error as Error).message);
      }
      if (this.closed || this.options.reconnect === false) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.retryMs);
        this.abort.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (this.closed) return;
    }
  }

  private async read(body: ReadableStream<Uint8Array>, connection: number): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    let event = '';
    let data: string[] = [];
    let id: string | undefined;
    const line = (text: string): void => {
      if (text === '') {
        if (id !== undefined) this.lastEventId = id;
        if (data.length > 0) this.events.push({ event: event || 'message', id: this.lastEventId, data: data.join('\n'), connection });
        event = '';
        data = [];
        id = undefined;
        return;
      }
      if (text.startsWith(':')) return;
      const colon = text.indexOf(':');
      const field = colon < 0 ? text : text.slice(0, colon);
      let value = colon < 0 ? '' : text.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id' && !value.includes('\0')) id = value;
      else if (field === 'retry' && /^\d+$/.test(value)) {
        this.retryMs = Number(value);
        this.retrySeen = true;
      }
    };
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.search(/\r\n|\r|\n/)) >= 0) {
        if (buffer[end] === '\r' && end === buffer.length - 1) break; // maybe the first half of \r\n
        const text = buffer.slice(0, end);
        buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 2 : 1));
        line(text);
      }
    }
  }
}
