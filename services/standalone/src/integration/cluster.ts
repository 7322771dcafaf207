import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../adseed.app';

export const SERVICES = ['embedding', 'retrieval', 'generation', 'agent', 'gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];

const env = process.env;

/**
 * The local servers `scripts/infra/all.sh up` starts (see scripts/infra/README.md), on the ports
 * the same variables choose there — so a second set of servers (another worktree, another run) can
 * live beside the default one.
 */
export const INFRA = {
  kafka: `127.0.0.1:${env.ADSEED_KAFKA_PORT ?? 19092}`,
  minio: {
    endPoint: '127.0.0.1',
    port: Number(env.ADSEED_MINIO_PORT ?? 19000),
    accessKey: env.MINIO_ROOT_USER ?? 'adseed',
    secretKey: env.MINIO_ROOT_PASSWORD ?? 'adseed-secret',
  },
  kserve: `127.0.0.1:${env.ADSEED_KSERVE_GRPC_PORT ?? 18001}`,
  qdrant: `http://127.0.0.1:${env.ADSEED_QDRANT_PORT ?? 16333}`,
  notifyArn: 'arn:minio:sqs::ADSEED:kafka',
};

/** Added to every service port the integration suites choose (`ADSEED_IT_PORT_OFFSET`, default 0). */
export const PORT_OFFSET = Number(env.ADSEED_IT_PORT_OFFSET ?? 0);

/** A service's gRPC port is its HTTP port plus this. */
export const GRPC_PORT_STEP = 50;

/** Extra replicas a cluster can run of each service (`startReplica`), each on a port fixed in advance. */
export const REPLICA_SLOTS = 2;

export interface ClusterOptions {
  /** Per-service state (embedded index, logs) lives below this. */
  dataDir: string;
  basePort: number;
  /** Environment for every service (adapters, models, buckets). */
  env: NodeJS.ProcessEnv;
  /** Extra environment for one service. */
  serviceEnv?: Partial<Record<ServiceName, NodeJS.ProcessEnv>>;
}

export interface Replica {
  url: string;
  port: number;
  /** Signals it (SIGTERM by default, SIGKILL after 15 s) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface Cluster {
  gatewayUrl: string;
  portOf(service: ServiceName): number;
  grpcPortOf(service: ServiceName): number;
  /** Starts one service's process (again) and waits for its /readyz. */
  start(service: ServiceName): Promise<void>;
  kill(service: ServiceName, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts another replica of `service` (its own port and data dir, the same environment, so the
   * same consumer groups) and waits for its /readyz. A query service's replica is also called:
   * every caller's channel lists the gRPC ports of all its replica slots, round robin over those
   * that answer (a slot nobody runs is skipped). At most REPLICA_SLOTS per service at a time.
   * `stop()` stops it (SIGTERM: it drains its gRPC calls) and frees its slot.
   */
  startReplica(service: ServiceName, replica: string): Promise<Replica>;
  logFile(service: ServiceName): string;
  stop(): Promise<void>;
}

/**
 * Every service as its own process, the built `node services/<name>/dist/main.js` form, configured
 * only by environment variables — how they run in production, on real servers.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const processes = new Map<ServiceName, ChildProcess>();
  const portOf = (service: ServiceName) => options.basePort + PORT_OFFSET + SERVICES.indexOf(service);
  // gRPC ports of the services that answer queries, shifted by the offset like the HTTP ones
  const grpcPortOf = (service: ServiceName) => options.basePort + PORT_OFFSET + GRPC_PORT_STEP + SERVICES.indexOf(service);
  // Replica slot `slot` of a service: above the five services' ports, basePort + 10, + 11, …
  const replicaPortOf = (service: ServiceName, slot: number) => options.basePort + PORT_OFFSET + 10 + SERVICES.indexOf(service) * REPLICA_SLOTS + slot;
  // Every address a service may answer on, as a static list (grpc-js `ipv4:` target) the
  // callers' round robin spreads calls over, as it does over a headless Service's pods.
  const target = (service: ServiceName) =>
    `ipv4:${[grpcPortOf(service), ...Array.from({ length: REPLICA_SLOTS }, (_, slot) => replicaPortOf(service, slot) + GRPC_PORT_STEP)].map((p) => `127.0.0.1:${p}`).join(',')}`;
  const grpcEnv = {
    EMBEDDING_GRPC_URL: target('embedding'),
    RETRIEVAL_GRPC_URL: target('retrieval'),
    AGENT_GRPC_URL: target('agent'),
  };
  const logFile = (service: ServiceName) => join(options.dataDir, `${service}.log`);

  const replicas = new Map<string, { child: ChildProcess; service: ServiceName; slot: number }>();

  const spawnService = (service: ServiceName, name: string, port: number): ChildProcess => {
    const dir = join(options.dataDir, name);
    mkdirSync(dir, { recursive: true });
    const log = createWriteStream(join(options.dataDir, `${name}.log`), { flags: 'a' });
    const child = spawn(process.execPath, [join(REPO_ROOT, 'services', service, 'dist', 'main.js')], {
      cwd: REPO_ROOT,
      // a replica's gRPC port is its HTTP port + GRPC_PORT_STEP too: in every caller's target list
      env: {
        ...process.env,
        ...grpcEnv,
        ...options.env,
        ...options.serviceEnv?.[service],
        PORT: String(port),
        GRPC_PORT: String(port + GRPC_PORT_STEP),
        ADSEED_DATA_DIR: dir,
        LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    return child;
  };

  const start = async (service: ServiceName) => {
    const child = spawnService(service, service, portOf(service));
    processes.set(service, child);
    await waitReady(service, portOf(service), child, logFile(service));
  };

  const kill = (service: ServiceName, signal: NodeJS.Signals = 'SIGTERM') => stopProcess(processes.get(service), signal);

  const startReplica = async (service: ServiceName, replica: string): Promise<Replica> => {
    const name = `${service}-${replica}`;
    if (replicas.has(name)) throw new Error(`replica ${name} is already running`);
    const taken = new Set([...replicas.values()].filter((r) => r.service === service).map((r) => r.slot));
    const slot = Array.from({ length: REPLICA_SLOTS }, (_, i) => i).find((i) => !taken.has(i));
    if (slot === undefined) throw new Error(`${service} already runs ${REPLICA_SLOTS} extra replicas (REPLICA_SLOTS)`);
    const port = replicaPortOf(service, slot);
    const child = spawnService(service, name, port);
    replicas.set(name, { child, service, slot });
    try {
      await waitReady(name, port, child, join(options.dataDir, `${name}.log`));
    } catch (error) {
      await stopProcess(child, 'SIGKILL');
      replicas.delete(name);
      throw error;
    }
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
        await stopProcess(child, signal);
        replicas.delete(name);
      },
    };
  };

  const cluster: Cluster = {
    gatewayUrl: `http://127.0.0.1:${portOf('gateway')}`,
    portOf,
    grpcPortOf,
    start,
    kill,
    startReplica,
    logFile,
    stop: async () => {
      for (const { child } of [...replicas.values()]) await stopProcess(child, 'SIGTERM');
      replicas.clear();
      for (const service of [...SERVICES].reverse()) await kill(service);
    },
  };
  try {
    for (const service of SERVICES) await start(service);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/** Signals a service process (SIGKILL after 15 s) and waits until it has exited. */
async function stopProcess(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function waitReady(service: string, port: number, child: ChildProcess, log: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${service} exited with ${child.exitCode} during start-up; see ${log}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${service} not ready on :${port} within ${timeoutMs} ms; see ${log}`);
}
