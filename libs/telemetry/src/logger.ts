import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { type DestinationStream, type Logger as Pino } from 'pino';
import { prettyFactory } from 'pino-pretty';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LoggerOptions {
  service: string;
  level?: LogLevel;
  format?: 'json' | 'pretty';
  /** Receives each line without its newline (tests, the one-process mode's silenced runs). */
  sink?: (line: string) => void;
}

/**
 * The request being served: the gateway's middleware enters it, and every line logged while the
 * request is handled (by any logger of the process) carries its id.
 */
export const requestContext = new AsyncLocalStorage<{ requestId: string }>();
export const currentRequestId = (): string | undefined => requestContext.getStore()?.requestId;
/** Runs `fn` as part of request `requestId`, or outside any request when there is none. */
export const runWithRequestId = <T>(requestId: string | undefined, fn: () => T): T =>
  requestId ? requestContext.run({ requestId }, fn) : requestContext.exit(fn);

/**
 * Names whose values never reach a log line, at any depth up to four: credentials in the
 * environment (a logged config), in adapter options, and in request headers.
 */
export const SECRET_FIELDS = [
  'MINIO_ACCESS_KEY',
  'MINIO_SECRET_KEY',
  'KAFKA_SASL_PASSWORD',
  'OPENAI_API_KEY',
  'REPLICATE_API_TOKEN',
  'QDRANT_API_KEY',
  'ADSEED_API_KEYS',
  'ADSEED_MODERATION_API_KEY',
  'accessKey',
  'secretKey',
  'apiKey',
  'apiToken',
  'password',
  'authorization',
  'Authorization',
  'x-api-key',
  'X-Api-Key',
  'cookie',
  'set-cookie',
] as const;

const REDACTED = '[redacted]';

function redactPaths(fields: readonly string[], depth = 4): string[] {
  const paths: string[] = [];
  for (const field of fields) {
    const segment = /^[A-Za-z_$][\w$]*$/.test(field) ? field : `["${field}"]`;
    for (let d = 0; d < depth; d++) {
      const prefix = Array.from({ length: d }, () => '*').join('.');
      paths.push(!prefix ? segment : segment.startsWith('[') ? prefix + segment : `${prefix}.${segment}`);
    }
  }
  return paths;
}

/**
 * Builds the process's pino logger: one JSON object a line (`time`, `level`, `service`, `msg`),
 * the request id on every line (the trace and span ids too, when traced: the pino
 * instrumentation adds them), errors with `stack` and their `cause` chain, secrets redacted. `pretty` is for humans running `npm start`.
 */
export function createPino(options: LoggerOptions): Pino {
  const errorSerializer = pino.stdSerializers.errWithCause;
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { error: errorSerializer, err: errorSerializer },
      redact: { paths: redactPaths(SECRET_FIELDS), censor: REDACTED },
      mixin: () => {
        const fields: Record<string, string> = {};
        const requestId = currentRequestId();
        if (requestId) fields.requestId = requestId;
        // traceId/spanId/traceFlags come from the pino instrumentation (registerInstrumentations)
        return fields;
      },
    },
    destinationOf(options),
  );
}

function destinationOf(options: LoggerOptions): DestinationStream {
  const format =
    options.format === 'pretty'
      ? prettyFactory({ colorize: !options.sink && process.stdout.isTTY, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true })
      : undefined;
  if (options.sink) {
    const sink = options.sink;
    return { write: (line: string) => sink((format ? format(line) : line).replace(/\n$/, '')) };
  }
  // Warnings and errors on stderr, the rest on stdout (what container runtimes and CI expect).
  const { stdout, stderr } = standardStreams();
  const write = (stream: DestinationStream, line: string) => stream.write(format ? format(line) : line);
  return {
    write: (line: string) => {
      // pino writes the level as the second key: `{"level":"warn",…`
      const toStderr = line.startsWith('{"level":"warn"') || line.startsWith('{"level":"error"') || line.startsWith('{"level":"fatal"');
      write(toStderr ? stderr : stdout, line);
    },
  };
}

let streams: { stdout: DestinationStream; stderr: DestinationStream } | undefined;
/** One synchronous writer per descriptor for every logger of the process (lines are never interleaved mid-line). */
function standardStreams(): { stdout: DestinationStream; stderr: DestinationStream } {
  streams ??= { stdout: pino.destination({ fd: 1, sync: true }), stderr: pino.destination({ fd: 2, sync: true }) };
  return streams;
}

/**
 * The logger services are given (`runtime.logger`): `logger.info(msg, fields)`, on pino. `pino`
 * is the underlying instance, for nestjs-pino's request logging.
 */
export class Logger {
  readonly pino: Pino;
  /** Options build a new pino instance; `{ pino }` wraps one (a child, nestjs-pino's). */
  constructor(options: LoggerOptions | { pino: Pino }) {
    this.pino = 'pino' in options ? options.pino : createPino(options);
  }

  child(context: Record<string, unknown>): Logger {
    return new Logger({ pino: this.pino.child(context) });
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.pino.debug(fields ?? {}, msg);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.pino.info(fields ?? {}, msg);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.pino.warn(fields ?? {}, msg);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.pino.error(fields ?? {}, msg);
  }
}

/** Adapts a logger to NestJS's LoggerService for application contexts without HTTP. */
export class NestLoggerAdapter {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string): void {
    this.logger.info(String(message), context ? { context } : undefined);
  }
  error(message: unknown, trace?: string, context?: string): void {
    if (message instanceof Error) this.logger.error(message.message, { error: message, context });
    else this.logger.error(String(message), { context, ...(trace ? { stack: trace } : {}) });
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn(String(message), context ? { context } : undefined);
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug(String(message), context ? { context } : undefined);
  }
  verbose(message: unknown, context?: string): void {
    this.logger.debug(String(message), context ? { context } : undefined);
  }
}
