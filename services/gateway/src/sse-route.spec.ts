import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Controller, Injectable, Param, Sse, type CallHandler, type INestApplication, type MessageEvent, type NestInterceptor } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { of, type Observable } from 'rxjs';
import { ApiError } from './http-errors';

@Injectable()
class PassThrough implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

/** An `@Sse()` route shaped like ours: it reads the stored state first, and an unknown id is a 404. */
@Controller('streams')
class StreamsController {
  @Sse(':id')
  async events(@Param('id') id: string): Promise<Observable<MessageEvent>> {
    await sleep(20); // the hub's subscription, the stored state: a read, not the same tick
    if (id !== 'known') throw new ApiError(404, 'not_found', `no stream ${id}`);
    return of({ type: 'state', id: '1-1', data: { id } });
  }
}

/**
 * Why the conversation and job event streams answer through `@Res()` (EventStreams) and not
 * `@Sse()`: with a global interceptor — the gateway has two, the audit log and the HTTP metrics —
 * Nest (11.2) sends an `@Sse()` route's 200 and event-stream headers one macrotask after the
 * interceptors hand it their Observable, before an async handler has found that the id is
 * unknown; the 404 then arrives as an `event: error` in a 200 stream. If this spec fails after a
 * Nest upgrade, the streams can move to `@Sse()` (the 204 for a finished job still needs a way).
 */
describe('an async @Sse() route behind a global interceptor', () => {
  let app: INestApplication;
  let url: string;

  before(async () => {
    const moduleRef = await Test.createTestingModule({
      controllers: [StreamsController],
      providers: [{ provide: APP_INTERCEPTOR, useClass: PassThrough }],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    url = `${await app.getUrl()}/streams`;
  });
  after(() => app?.close());

  it('streams a known id', async () => {
    const res = await fetch(`${url}/known`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /event: state\nid: 1-1\ndata: \{"id":"known"\}/);
  });

  it('cannot answer 404 for an unknown one: the headers are out before the handler throws', async () => {
    const res = await fetch(`${url}/unknown`);
    assert.equal(res.status, 200, 'a 404 here means @Sse() now waits for the handler: see the describe above');
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    assert.match(await res.text(), /event: error\n/);
  });
});
