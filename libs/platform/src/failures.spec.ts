import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServiceError } from '@adseed/messaging';
import { Logger } from '@adseed/telemetry';
import { classifyFailure, mapInfrastructureFailures, toServiceError } from './failures';
import { unusedPort } from '@adseed/testing';

const errno = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('failure classification', () => {
  it('a refused connection is 503 unavailable, its cause kept for the log and out of the message', async () => {
    const refused = await fetch(`http://127.0.0.1:${await unusedPort()}/`).catch((error: unknown) => error);
    assert.equal(classifyFailure(refused), 'unavailable');
    const mapped = toServiceError(refused, 'conversation start');
    assert.equal(mapped.status, 503);
    assert.equal(mapped.code, 'unavailable');
    assert.equal(mapped.cause, refused);
    assert.doesNotMatch(mapped.message, /127\.0\.0\.1/);
  });

  it("filesystem and S3 states of the store are ours, not the caller's", () => {
    for (const code of ['EACCES', 'ENOSPC', 'EROFS', 'EIO', 'NoSuchBucket', 'AccessDenied', 'SlowDown'])
      assert.equal(toServiceError(errno(code), 'x').status, 503, code);
  });

  it('a timeout anywhere in the cause chain is 504 upstream_timeout', () => {
    const wrapped = new Error('save failed', { cause: new Error('socket', { cause: errno('ETIMEDOUT') }) });
    assert.equal(toServiceError(wrapped, 'x').code, 'upstream_timeout');
    assert.equal(toServiceError(new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 'x').status, 504);
  });

  it('the deepest cause decides: retries exhausted around a refusal is unavailable, around a timeout a timeout', () => {
    const exhausted = (cause: Error) => Object.assign(new Error('retries exhausted', { cause }), { name: 'KafkaJSNumberOfRetriesExceeded' });
    assert.equal(classifyFailure(exhausted(errno('ECONNREFUSED'))), 'unavailable');
    assert.equal(classifyFailure(exhausted(Object.assign(new Error('Request Metadata timed out'), { name: 'KafkaJSRequestTimeoutError' }))), 'timeout');
    assert.equal(
      classifyFailure(Object.assign(new Error('gave up'), { name: 'KafkaJSNumberOfRetriesExceeded', originalError: errno('ETIMEDOUT') })),
      'timeout',
    );
  });

  it('a bug is a 500 that says nothing of its insides; a ServiceError passes unchanged', () => {
    const bug = toServiceError(new TypeError("Cannot read properties of undefined (reading 'x')"), 'reply');
    assert.deepEqual([bug.status, bug.code, bug.message], [500, 'internal', 'reply failed']);
    const typed = new ServiceError(409, 'conversation_done', 'done');
    assert.equal(toServiceError(typed, 'x'), typed);
  });

  it('a wrapped responder maps only infrastructure failures, logging them; the rest pass unchanged', async () => {
    const lines: string[] = [];
    const logger = new Logger({ service: 'test', sink: (line) => lines.push(line) });
    const failWith = (error: unknown) => mapInfrastructureFailures('catalogue', logger, (_m: string) => Promise.reject(error));
    const refused = await failWith(errno('ECONNREFUSED'))
      .call(undefined, 'x')
      .catch((e: unknown) => e);
    assert.ok(refused instanceof ServiceError);
    assert.equal(refused.status, 503);
    assert.equal(lines.length, 1);
    assert.equal((JSON.parse(lines[0]) as { error: { code: string } }).error.code, 'ECONNREFUSED');
    const typed = new ServiceError(404, 'not_found', 'no subject');
    assert.equal(
      await failWith(typed)
        .call(undefined, 'x')
        .catch((e: unknown) => e),
      typed,
    );
    const bug = new RangeError('bad index');
    assert.equal(
      await failWith(bug)
        .call(undefined, 'x')
        .catch((e: unknown) => e),
      bug,
    );
    assert.equal(lines.length, 1, 'only the mapped failure is logged here');
    assert.equal(await mapInfrastructureFailures('ok', logger, (m: string) => Promise.resolve(m.length))('abc'), 3);
  });
});
