import { z } from 'zod';

/** Start-up fails listing every bad variable at once, so an operator fixes them in one go. */
export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; reason: string }[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p.variable}: ${p.reason}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({ variable: issue.path.map(String).join('.') || '(env)', reason: issue.message })),
  );
}

/** Environment booleans: `true/false/1/0/yes/no`, anything else is an error (not silently false). */
export const envBoolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : ['true', '1', 'yes'].includes(v)));

export const envInt = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

export const envList = (fallback: string[] = []) =>
  z
    .string()
    .optional()
    .transform((v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : fallback));

/** Variables every service reads. */
export const CommonEnv = z.object({
  PORT: envInt(8080, 0, 65535),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  ADSEED_BUS: z.enum(['memory', 'kafka']).default('memory'),
  KAFKA_BROKERS: envList(['127.0.0.1:9092']),
  KAFKA_CLIENT_ID: z.string().default('adseed'),
  KAFKA_SSL: envBoolean(false),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().optional(),
  KAFKA_SASL_PASSWORD: z.string().optional(),
  /** Partitions of every adseed topic the services create (0: each topic's built-in count). Existing topics are not changed. */
  KAFKA_TOPIC_PARTITIONS: envInt(0, 0, 10_000),
  /** Per-topic partitions, winning over KAFKA_TOPIC_PARTITIONS: `adseed.asset.ingest-requested.v1=64,...`. */
  KAFKA_TOPIC_PARTITIONS_OVERRIDES: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const map: Record<string, number> = {};
      for (const entry of (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
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
});
export type CommonEnv = z.infer<typeof CommonEnv>;

export interface Buckets { seed: string; brand: string; ad: string }
export const bucketsOf = (env: CommonEnv): Buckets => ({
  seed: env.ADSEED_BUCKET_SEEDS,
  brand: env.ADSEED_BUCKET_BRANDS,
  ad: env.ADSEED_BUCKET_ADS,
});
