import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger as Pino } from 'pino';
import type { Options } from 'pino-http';
import { assignRequestId } from './request-id';

/** Probes and scrapes are not events worth a line each. */
const QUIET_PATHS = /^\/(healthz|livez|readyz|metrics)(\?|$)/;

/**
 * nestjs-pino's request logging: one line per finished request (method, route URL, status,
 * duration) with the request id, on the service's own pino instance (same redaction, same
 * format). 5xx lines are errors; the exception filter logs the failure itself with its stack.
 */
export function pinoHttpOptions(logger: Pino): Options {
  return {
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => assignRequestId(req, res),
    // The request id comes from the logger's mixin (requestContext) on every line; binding it
    // here as well would write the key twice.
    quietReqLogger: false,
    serializers: {
      req: (req: { method?: string; url?: string }) => ({ method: req.method, url: req.url }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
    customSuccessObject: (req, _res, value: object) => ({ ...value, requestId: (req as IncomingMessage & { id?: unknown }).id }),
    customErrorObject: (req, _res, _error, value: object) => ({ ...value, requestId: (req as IncomingMessage & { id?: unknown }).id }),
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessMessage: (req, res) => `${req.method} ${req.url} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${req.url} ${res.statusCode}`,
    autoLogging: { ignore: (req) => QUIET_PATHS.test(req.url ?? '') },
  };
}
