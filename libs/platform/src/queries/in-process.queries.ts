import { queryPath, type QueryDef } from '@adseed/contracts';
import { withQueryClientSpan, withQueryServerSpan } from './query.tracing';
import {
  asServiceError,
  deadlineOf,
  parseReply,
  parseRequest,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
  withDeadline,
  type CallOptions,
  type QueryClient,
  type QueryHandler,
  type QueryServer,
} from './query.port';

/**
 * The one-process mode's queries: a direct call to the handler the serving module registered,
 * with the same validation, deadlines and errors as over gRPC (the reply is parsed, so the caller
 * gets its own copy, as it would off the wire).
 */
export class InProcessQueries implements QueryClient, QueryServer {
  private readonly handlers = new Map<string, QueryHandler<unknown, unknown>>();
  private readonly served = new Map<string, number>();

  constructor(private readonly rootTimeoutMs = 30_000) {}

  handle<Req, Res>(query: QueryDef<Req, Res>, handler: QueryHandler<Req, Res>): void {
    this.handlers.set(queryPath(query), handler as QueryHandler<unknown, unknown>);
  }

  call<Req, Res>(query: QueryDef<Req, Res>, request: Req, options?: CallOptions): Promise<Res> {
    // traced as over gRPC: a client span here, a server span in the serving service
    return withQueryClientSpan(query, (carrier) => this.send(query, request, options, carrier));
  }

  private async send<Req, Res>(query: QueryDef<Req, Res>, request: Req, options: CallOptions | undefined, carrier: Record<string, string>): Promise<Res> {
    const deadline = deadlineOf(query, options, this.rootTimeoutMs);
    const budget = deadline - Date.now();
    if (budget <= 0) throw new UpstreamTimeoutError(query, budget);
    const handler = this.handlers.get(queryPath(query));
    if (!handler) throw new UpstreamUnavailableError(query, `no ${query.service} service in this process`);
    // the server's view: what went over the wire, parsed again (defaults applied, copies made)
    const parsed = parseRequest(query, JSON.parse(JSON.stringify(request)) as unknown);
    this.served.set(queryPath(query), this.callsOf(query) + 1);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new UpstreamTimeoutError(query, budget)), budget);
    });
    try {
      const work = withDeadline(deadline, () => withQueryServerSpan(query, carrier, () => handler(parsed))).then(
        (reply) => parseReply(query, JSON.parse(JSON.stringify(reply)) as unknown),
        (error: unknown) => Promise.reject(asServiceError(query, error)),
      );
      work.catch(() => undefined); // settled after the deadline: nobody listens any more
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** How many calls of `query` reached its handler (what tests count instead of messages on a topic). */
  callsOf(query: QueryDef<unknown, unknown>): number {
    return this.served.get(queryPath(query)) ?? 0;
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
