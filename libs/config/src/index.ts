import { z } from 'zod';

/** sysexits.h `EX_CONFIG`: what a process exits with when its configuration is wrong. */
export const EXIT_CONFIG = 78;

export interface ConfigProblem {
  variable: string;
  reason: string;
}

/** Start-up fails listing every bad variable at once, so an operator fixes them in one go. */
export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    const unique = dedupe(problems);
    super(
      `invalid configuration (${unique.length} problem${unique.length === 1 ? '' : 's'}):\n${unique.map((p) => `  - ${p.variable}: ${p.reason}`).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.problems = unique;
  }
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.variable}\0${p.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const problemsOf = (error: z.ZodError): ConfigProblem[] =>
  error.issues.map((issue) => ({ variable: issue.path.map(String).join('.') || '(env)', reason: issue.message }));

export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(problemsOf(result.error));
}

/**
 * Validates the same environment against several schemas (the common variables, a service's own,
 * the one-process mode's) and fails once, with the problems of all of them.
 */
export function loadConfigs<T extends Record<string, z.ZodType>>(schemas: T, env: NodeJS.ProcessEnv = process.env): { [K in keyof T]: z.infer<T[K]> } {
  const problems: ConfigProblem[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    const result = schema.safeParse(env);
    if (result.success) out[name] = result.data;
    else problems.push(...problemsOf(result.error));
  }
  if (problems.length) throw new ConfigError(problems);
  return out as { [K in keyof T]: z.infer<T[K]> };
}

/**
 * For `.superRefine(rule, ALWAYS)`: zod skips refinements once any field is invalid, so a
 * cross-field rule would only be reported after the other problems are fixed. With this it runs
 * anyway (on values that may be unparsed where their own field failed), and every problem is
 * listed at once.
 */
export const ALWAYS = { when: (): boolean => true } as const;

/** Environment booleans: `true/false/1/0/yes/no`, anything else is an error (not silently false). */
export const envBoolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : ['true', '1', 'yes'].includes(v)));

export const envInt = (fallback: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(fallback);

export const envList = (fallback: string[] = []) =>
  z
    .string()
    .optional()
    .transform((v) =>
      v
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : fallback,
    );

/** Variables every service reads. */
export const CommonEnv = z
  .object({
    PORT: envInt(8080, 0, 65535),
    /** Serve `/metrics` on this port only (its own listener, kept off the Ingress); unset: on PORT. */
    METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
    METRICS_HOST: z.string().default('0.0.0.0'),
    /** When set, `/metrics` needs `Authorization: Bearer <token>` wherever it is served. */
    ADSEED_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
    ADSEED_BUS: z.enum(['memory', 'kafka']).default('memory'),
    KAFKA_BROKERS: envList(['127.0.0.1:9092']),
    KAFKA_CLIENT_ID: z.string().default('adseed'),
    KAFKA_SSL: envBoolean(false),
    KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
    KAFKA_SASL_USERNAME: z.string().optional(),
    KAFKA_SASL_PASSWORD: z.string().optional(),
    /** How long a Kafka consumer gathers the offsets of the messages it has done before it commits them (0: at once). */
    KAFKA_COMMIT_INTERVAL_MS: envInt(200, 0, 60_000),
    /** Partitions of every adseed topic the services create (0: each topic's built-in count). Existing topics are not changed. */
    KAFKA_TOPIC_PARTITIONS: envInt(0, 0, 10_000),
    /** Per-topic partitions, winning over KAFKA_TOPIC_PARTITIONS: `adseed.asset.ingest-requested.v1=64,...`. */
    KAFKA_TOPIC_PARTITIONS_OVERRIDES: z
      .string()
      .optional()
      .transform((raw, ctx) => {
        const map: Record<string, number> = {};
        for (const entry of (raw ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)) {
          const match = /^([a-z0-9.-]+)=([0-9]{1,5})$/.exec(entry);
          if (!match || Number(match[2]) < 1) {
            ctx.addIssue({ code: 'custom', message: `"${entry}" is not <topic>=<partitions ≥ 1>` });
            continue;
          }
          map[match[1]] = Number(match[2]);
        }
        return map;
      }),
    ADSEED_STORE: z.enum(['fs', 'minio']).default('fs'),
    // ADSEED_STORE=fs: each put flushed to disk before it returns (as MinIO's); off only for throw-away data.
    ADSEED_STORE_FSYNC: envBoolean(true),
    ADSEED_DATA_DIR: z.string().default('.data'),
    MINIO_ENDPOINT: z.string().default('127.0.0.1'),
    MINIO_PORT: envInt(9000, 1, 65535),
    MINIO_USE_SSL: envBoolean(false),
    MINIO_ACCESS_KEY: z.string().optional(),
    MINIO_SECRET_KEY: z.string().optional(),
    MINIO_REGION: z.string().default('us-east-1'),
    ADSEED_BUCKET_SEEDS: z.string().default('seeds'),
    ADSEED_BUCKET_BRANDS: z.string().default('brands'),
    ADSEED_BUCKET_ADS: z.string().default('ads'),
    /** The root budget of a query a caller waits on; inner queries get what is left of it (see Queries). */
    ADSEED_REQUEST_TIMEOUT_MS: envInt(30_000, 100, 600_000),
    /** gRPC port for the queries this service answers (embedding 50051, retrieval 50052, agent 50053 when unset; 0: any free port). */
    GRPC_PORT: z.coerce.number().int().min(0).max(65535).optional(),
    /** gRPC targets of the services a caller queries; `dns:///<headless service>:<port>` balances over every replica. */
    EMBEDDING_GRPC_URL: z.string().min(1).default('dns:///127.0.0.1:50051'),
    RETRIEVAL_GRPC_URL: z.string().min(1).default('dns:///127.0.0.1:50052'),
    AGENT_GRPC_URL: z.string().min(1).default('dns:///127.0.0.1:50053'),
    /** Attempts of an idempotent query that meets UNAVAILABLE (1: no retry). */
    GRPC_MAX_ATTEMPTS: envInt(3, 1, 5),
    /** On shutdown (SIGTERM), how long the gRPC queries in flight may take to finish before they are cancelled. */
    GRPC_DRAIN_TIMEOUT_MS: envInt(10_000, 0, 300_000),
  })
  .superRefine((env, ctx) => {
    if (env.ADSEED_STORE === 'minio') {
      for (const variable of ['MINIO_ACCESS_KEY', 'MINIO_SECRET_KEY'] as const) {
        if (!env[variable]) ctx.addIssue({ code: 'custom', path: [variable], message: 'required with ADSEED_STORE=minio' });
      }
    }
    if (env.KAFKA_SASL_MECHANISM) {
      for (const variable of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
        if (!env[variable]) ctx.addIssue({ code: 'custom', path: [variable], message: `required with KAFKA_SASL_MECHANISM=${env.KAFKA_SASL_MECHANISM}` });
      }
    }
  }, ALWAYS);
export type CommonEnv = z.infer<typeof CommonEnv>;

export interface Buckets {
  seed: string;
  brand: string;
  ad: string;
}
export const bucketsOf = (env: CommonEnv): Buckets => ({
  seed: env.ADSEED_BUCKET_SEEDS,
  brand: env.ADSEED_BUCKET_BRANDS,
  ad: env.ADSEED_BUCKET_ADS,
});
