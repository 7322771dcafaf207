import { KserveCallError, type KserveEndpoint } from './kserve-v2.types';

export type EndpointState = 'unknown' | 'up' | 'down';

export interface EndpointHealth {
  readonly address: string;
  readonly state: EndpointState;
  /** Why it is down, phrased for an operator. */
  readonly lastError?: string;
}

/** A model the endpoints must have ready to count as healthy; version '' means any. */
export interface RequiredModel {
  readonly name: string;
  readonly version: string;
}

export interface TritonEndpointPoolOptions {
  /** Deadline of each readiness probe, in ms. */
  readonly probeTimeoutMs: number;
  /**
   * A failed endpoint is skipped for this long before it is probed again, so that an outage
   * costs one probe per endpoint per interval rather than one per request. Default 5000.
   */
  readonly retryDownAfterMs?: number;
  /** Clock in ms; injectable so tests do not depend on wall-clock time. */
  readonly now?: () => number;
}

/** Every endpoint failed or is known to be down; `failures` says why, endpoint by endpoint. */
export class NoHealthyEndpointError extends Error {
  constructor(
    what: string,
    readonly failures: readonly { address: string; reason: string }[],
  ) {
    super(`${what}: no Triton endpoint could serve it: ${failures.map((f) => `${f.address}: ${f.reason}`).join('; ')}`);
    this.name = 'NoHealthyEndpointError';
  }
}

interface EndpointEntry {
  readonly endpoint: KserveEndpoint;
  state: EndpointState;
  lastError?: string;
  downSince: number;
}

/**
 * Health-aware failover across KServe v2 endpoints, after immich's machine-learning client:
 * endpoints known to be healthy first (in configured order), then the others, then fail.
 * An endpoint that is not known to be healthy is probed (ServerReady, then ModelReady of every
 * required model) before it gets a request; one that fails a call is marked down. Requests
 * the server rejects as invalid are not retried elsewhere: every endpoint would reject them.
 */
export class TritonEndpointPool {
  private readonly entries: EndpointEntry[];
  private required: readonly RequiredModel[] = [];
  private readonly retryDownAfterMs: number;
  private readonly now: () => number;

  constructor(
    endpoints: readonly KserveEndpoint[],
    private readonly options: TritonEndpointPoolOptions,
  ) {
    if (endpoints.length === 0) throw new Error('TritonEndpointPool: no endpoints (set TRITON_ENDPOINTS to host:port[,host:port...])');
    this.entries = endpoints.map((endpoint) => ({ endpoint, state: 'unknown', downSince: 0 }));
    this.retryDownAfterMs = options.retryDownAfterMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  /** Sets the models a healthy endpoint must have ready (checked by the next probes). */
  requireModels(models: readonly RequiredModel[]): void {
    this.required = models;
  }

  health(): EndpointHealth[] {
    return this.entries.map((e) => ({ address: e.endpoint.address, state: e.state, ...(e.lastError ? { lastError: e.lastError } : {}) }));
  }

  /** True when some endpoint answered its last call or probe. */
  hasHealthyEndpoint(): boolean {
    return this.entries.some((e) => e.state === 'up');
  }

  /** Runs `call` on the first endpoint that can serve it; `what` names the call in errors. */
  async run<T>(what: string, call: (endpoint: KserveEndpoint) => Promise<T>): Promise<T> {
    const failures: { address: string; reason: string }[] = [];
    const now = this.now();
    const up = this.entries.filter((e) => e.state === 'up');
    const unknown = this.entries.filter((e) => e.state === 'unknown');
    const down = this.entries.filter((e) => e.state === 'down');
    for (const entry of [...up, ...unknown, ...down]) {
      const address = entry.endpoint.address;
      if (entry.state === 'down' && now - entry.downSince < this.retryDownAfterMs) {
        failures.push({
          address,
          reason: `down (${entry.lastError ?? 'unknown reason'}); next probe in ${this.retryDownAfterMs - (now - entry.downSince)} ms`,
        });
        continue;
      }
      if (entry.state !== 'up') {
        const problem = await this.probe(entry.endpoint);
        if (problem) {
          this.markDown(entry, problem);
          failures.push({ address, reason: problem });
          continue;
        }
        entry.state = 'up';
        entry.lastError = undefined;
      }
      try {
        return await call(entry.endpoint);
      } catch (error) {
        if (!(error instanceof KserveCallError) || error.kind === 'rejected') throw error;
        this.markDown(entry, error.message);
        failures.push({ address, reason: error.message });
      }
    }
    throw new NoHealthyEndpointError(what, failures);
  }

  close(): void {
    for (const e of this.entries) e.endpoint.close();
  }

  /** Undefined when the endpoint is ready for every required model, else why not. */
  private async probe(endpoint: KserveEndpoint): Promise<string | undefined> {
    const timeout = this.options.probeTimeoutMs;
    try {
      if (!(await endpoint.serverReady(timeout))) return 'server is live but not ready (ServerReady false)';
      for (const model of this.required) {
        if (!(await endpoint.modelReady(model.name, model.version, timeout))) {
          return `model ${model.name}${model.version ? ` version ${model.version}` : ''} is not ready there (ModelReady false)`;
        }
      }
      return undefined;
    } catch (error) {
      if (error instanceof KserveCallError) return `probe failed: ${error.message}`;
      throw error;
    }
  }

  private markDown(entry: EndpointEntry, reason: string): void {
    entry.state = 'down';
    entry.lastError = reason;
    entry.downSince = this.now();
  }
}
