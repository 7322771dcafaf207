import assert from 'node:assert/strict';
import { createServer, maxHeaderSize, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ErrorBody } from '@adseed/contracts';
import { answerParseErrorsAsJson } from './http-parse-errors';

/** Sends raw bytes and reads the whole answer (the server closes the connection after it). */
const raw = (port: number, request: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(request));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });

const parse = (answer: string): { status: number; contentType: string | undefined; requestId: string | undefined; body: unknown } => {
  const [head, body] = answer.split('\r\n\r\n');
  const lines = head.split('\r\n');
  const header = (name: string) =>
    lines
      .find((l) => l.toLowerCase().startsWith(`${name}:`))
      ?.split(':')[1]
      .trim();
  return { status: Number(lines[0].split(' ')[1]), contentType: header('content-type'), requestId: header('x-request-id'), body: JSON.parse(body) };
};

describe(answerParseErrorsAsJson.name, () => {
  let server: Server;
  let port: number;
  before(async () => {
    server = createServer((_req, res) => res.end('ok'));
    answerParseErrorsAsJson(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('answers a request line over the header limit with 431 and the API error body', async () => {
    const answer = parse(await raw(port, `GET /v1/subjects?cursor=${'x'.repeat(maxHeaderSize + 10)} HTTP/1.1\r\nHost: a\r\n\r\n`));
    assert.equal(answer.status, 431);
    assert.match(answer.contentType ?? '', /^application\/json/);
    const body = ErrorBody.parse(answer.body);
    assert.equal(body.error.status, 431);
    assert.equal(body.error.code, 'headers_too_large');
    assert.equal(body.error.requestId, answer.requestId);
  });

  it('answers headers over the limit with 431 too', async () => {
    const answer = parse(await raw(port, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'y'.repeat(maxHeaderSize)}\r\n\r\n`));
    assert.equal(answer.status, 431);
    assert.equal(ErrorBody.parse(answer.body).error.code, 'headers_too_large');
  });

  it('answers malformed HTTP with 400 and the API error body', async () => {
    const answer = parse(await raw(port, 'NOT HTTP AT ALL\r\n\r\n'));
    assert.equal(answer.status, 400);
    assert.equal(ErrorBody.parse(answer.body).error.code, 'bad_request');
  });

  it('leaves requests within the limit to the routes', async () => {
    const answer = await raw(port, `GET /?q=${'z'.repeat(1000)} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, /ok$/);
  });
});
