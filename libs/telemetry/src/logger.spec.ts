import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Logger, NestLoggerAdapter, requestContext } from './logger';

type Line = Record<string, any>;

function capture(level: 'debug' | 'info' = 'info'): { logger: Logger; lines: () => Line[]; raw: string[] } {
  const raw: string[] = [];
  const logger = new Logger({ service: 'test', level, format: 'json', sink: (line) => raw.push(line) });
  return { logger, raw, lines: () => raw.map((l) => JSON.parse(l) as Line) };
}

describe(Logger.name, () => {
  it('writes one JSON object a line: time, level name, service, msg and the fields', () => {
    const { logger, lines, raw } = capture();
    logger.debug('hidden');
    logger.warn('disk almost full', { freeBytes: 12 });
    assert.equal(raw.length, 1);
    assert.ok(!raw[0].includes('\n'));
    const [line] = lines();
    assert.equal(line.level, 'warn');
    assert.equal(line.service, 'test');
    assert.equal(line.msg, 'disk almost full');
    assert.equal(line.freeBytes, 12);
    assert.ok(!Number.isNaN(Date.parse(line.time)));
  });

  it("keeps an error's stack and its cause chain", () => {
    const { logger, lines } = capture();
    const root = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' });
    logger.error('saving the conversation failed', { error: new Error('put state/c.json failed', { cause: new Error('request failed', { cause: root }) }) });
    const { error } = lines()[0];
    assert.equal(error.message, 'put state/c.json failed');
    assert.match(error.stack, /logger\.spec/);
    assert.equal(error.cause.message, 'request failed');
    assert.equal(error.cause.cause.code, 'ECONNREFUSED');
    assert.match(error.cause.cause.stack, /ECONNREFUSED/);
  });

  it('never writes a secret: a logged config, adapter options or request headers', () => {
    const { logger, raw } = capture();
    const secrets = ['minio-secret-1', 'sasl-pass-2', 'sk-openai-3', 'r8_token-4', 'qdrant-key-5', 'apikey-6', 'bearer-7', 'x-api-key-8', 'mod-key-9'];
    logger.info('configuration', {
      env: {
        MINIO_SECRET_KEY: secrets[0],
        KAFKA_SASL_PASSWORD: secrets[1],
        OPENAI_API_KEY: secrets[2],
        REPLICATE_API_TOKEN: secrets[3],
        QDRANT_API_KEY: secrets[4],
        ADSEED_API_KEYS: `${secrets[5]}:acme`,
        ADSEED_MODERATION_API_KEY: secrets[8],
        PORT: 8080,
      },
    });
    logger.info('request', { req: { method: 'GET', headers: { authorization: `Bearer ${secrets[6]}`, 'x-api-key': secrets[7], accept: 'application/json' } } });
    logger.info('top level', { apiKey: secrets[5], client: { options: { secretKey: secrets[0], password: secrets[1] } } });
    const all = raw.join('\n');
    for (const secret of secrets) assert.ok(!all.includes(secret), `${secret} leaked: ${all}`);
    assert.match(all, /"PORT":8080/, 'the rest of the config is kept');
    assert.match(all, /"accept":"application\/json"/);
    assert.match(all, /\[redacted\]/);
  });

  it('puts the request id on every line written while the request is handled, by any logger', async () => {
    const { logger, lines } = capture();
    const other = capture();
    logger.info('before');
    await requestContext.run({ requestId: 'req-123' }, async () => {
      logger.info('in the handler');
      await new Promise((resolve) => setImmediate(resolve));
      logger.child({ component: 'store' }).info('after an await, in a child');
      other.logger.info("another service's logger");
    });
    logger.info('after');
    assert.deepEqual(
      lines().map((l) => l.requestId),
      [undefined, 'req-123', 'req-123', undefined],
    );
    assert.equal(lines()[2].component, 'store');
    assert.equal(other.lines()[0].requestId, 'req-123');
  });

  it('pretty lines are for people: one line each, level and message readable', () => {
    const raw: string[] = [];
    const logger = new Logger({ service: 'adseed', format: 'pretty', sink: (line) => raw.push(line) });
    logger.info('listening', { port: 8080 });
    assert.equal(raw.length, 1);
    assert.match(raw[0], /INFO/);
    assert.match(raw[0], /listening/);
    assert.match(raw[0], /8080/);
  });

  it('Nest framework errors keep their stack', () => {
    const { logger, lines } = capture();
    new NestLoggerAdapter(logger).error('boom', 'Error: boom\n    at Foo (foo.ts:1:1)', 'ExceptionsHandler');
    assert.equal(lines()[0].stack, 'Error: boom\n    at Foo (foo.ts:1:1)');
    assert.equal(lines()[0].context, 'ExceptionsHandler');
  });
});
