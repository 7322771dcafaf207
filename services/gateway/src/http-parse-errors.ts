import { randomUUID } from 'node:crypto';
import { maxHeaderSize, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorBody } from '@adseed/contracts';

/**
 * Requests Node's HTTP parser refuses before any route sees them get the API's error body instead
 * of Node's bare status line: 431 `headers_too_large` when the request line and headers together
 * exceed Node's limit (`--max-http-header-size`, 16 KB by default), 400 `bad_request` for other
 * malformed HTTP. The connection is closed after it (the parser cannot tell where the next
 * request would start). No header was read, so the request id is a new one (also sent as
 * `X-Request-Id`). Anything else (a reset, a request timeout) just closes the connection.
 */
export function answerParseErrorsAsJson(server: Server): void {
  server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
    if (!socket.writable || !error.code?.startsWith('HPE_')) {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : 400;
    const requestId = randomUUID();
    const body: ErrorBody = {
      error: tooLarge
        ? {
            status,
            code: 'headers_too_large',
            message: `the request line and headers exceed ${maxHeaderSize} bytes`,
            issues: [{ field: 'headers', reason: `at most ${maxHeaderSize} bytes with the request line` }],
            requestId,
          }
        : { status, code: 'bad_request', message: 'the request is not valid HTTP', requestId },
    };
    const json = JSON.stringify(body);
    socket.end(
      `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${json}`,
    );
  });
}
