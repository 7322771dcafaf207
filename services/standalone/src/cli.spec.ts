import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { runCli } from './cli';

/** A gateway stand-in that answers the first uploads with 429 (Retry-After: 1), then accepts. */
function rateLimitedGateway(refusals: number): Promise<{ server: Server; url: string; uploads: () => number }> {
  let uploads = 0;
  const server = createServer((req, res) => {
    if (req.url === '/healthz') return void res.writeHead(200).end('ok');
    req.resume().on('end', () => {
      uploads++;
      if (uploads <= refusals)
        return void res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' }).end('{"error":{"message":"slow down"}}');
      res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, uploads: () => uploads })),
  );
}

describe('adseed ingest over the rate limit', () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'adseed-cli-429-'));
    await writeFile(join(folder, 'one.jpg'), Buffer.from([0xff, 0xd8, 0xff]));
  });
  after(() => rm(folder, { recursive: true, force: true }));

  it('waits as Retry-After says and sends the same upload again until it is accepted', async () => {
    const gateway = await rateLimitedGateway(2);
    try {
      assert.equal(await runCli(['ingest', folder, '--url', gateway.url, '--concurrency', '1']), 0);
      assert.equal(gateway.uploads(), 3);
    } finally {
      gateway.server.close();
    }
  });
});
