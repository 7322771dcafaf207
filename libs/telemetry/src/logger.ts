import { trace } from '@opentelemetry/api';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  service: string;
  level?: LogLevel;
  format?: 'json' | 'pretty';
  sink?: (line: string) => void;
}

/**
 * Structured logs: one JSON object a line, with the active trace and span ids so a log line
 * can be joined to its trace. `pretty` is for humans running `npm start`.
 */
export class Logger {
  private readonly level: number;
  constructor(
    private readonly options: LoggerOptions,
    private readonly context: Record<string, unknown> = {},
  ) {
    this.level = ORDER[options.level ?? 'info'];
  }

  child(context: Record<string, unknown>): Logger {
    return new Logger(this.options, { ...this.context, ...context });
  }

  debug(msg: string, fields?: Record<string, unknown>): void { this.write('debug', msg, fields); }
  info(msg: string, fields?: Record<string, unknown>): void { this.write('info', msg, fields); }
  warn(msg: string, fields?: Record<string, unknown>): void { this.write('warn', msg, fields); }
  error(msg: string, fields?: Record<string, unknown>): void { this.write('error', msg, fields); }

  private write(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (ORDER[level] < this.level) return;
    const span = trace.getActiveSpan()?.spanContext();
    const record: Record<string, unknown> = {
      time: new Date().toISOString(),
      level,
      service: this.options.service,
      msg,
      ...this.context,
      ...fields,
    };
    if (span) {
      record.traceId = span.traceId;
      record.spanId = span.spanId;
    }
    const line = this.options.format === 'pretty' ? pretty(record) : JSON.stringify(record, errorReplacer);
    (this.options.sink ?? defaultSink(level))(line);
  }
}

function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}

function pretty(r: Record<string, unknown>): string {
  const { time, level, service, msg, ...rest } = r;
  const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest, errorReplacer) : '';
  return `${String(time).slice(11, 23)} ${String(level).toUpperCase().padEnd(5)} [${String(service)}] ${String(msg)}${extra}`;
}

const defaultSink = (level: LogLevel) => (line: string) =>
  (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(line + '\n');

/** Adapts our logger to NestJS's LoggerService so framework logs are structured too. */
export class NestLoggerAdapter {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string): void { this.logger.info(String(message), context ? { context } : undefined); }
  error(message: unknown, trace?: string, context?: string): void { this.logger.error(String(message), { context, trace }); }
  warn(message: unknown, context?: string): void { this.logger.warn(String(message), context ? { context } : undefined); }
  debug(message: unknown, context?: string): void { this.logger.debug(String(message), context ? { context } : undefined); }
  verbose(message: unknown, context?: string): void { this.logger.debug(String(message), context ? { context } : undefined); }
}
