import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startTestApp, type TestApp } from './harness';
import { snapshotDir } from './snapshot';

type Json = Record<string, any>;

const jpeg = (r: number, g: number, b: number) =>
  sharp({ create: { width: 320, height: 240, channels: 3, background: { r, g, b } } })
    .jpeg()
    .toBuffer();

async function upload(app: TestApp, bytes: Buffer, name: string, fields: Record<string, string> = {}, tenant?: string): Promise<Response> {
  const form = new FormData();
  form.set('file', new Blob([new Uint8Array(bytes)]), name);
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  return app.api('/v1/assets', { method: 'POST', body: form, ...(tenant ? { tenant } : {}) });
}

describe('hardening found by a hostile new user, end to end (embedded mode)', () => {
  let app: TestApp;
  let brandPath = '';
  let seedPath = '';

  before(async () => {
    app = await startTestApp();
    brandPath = ((await (await upload(app, await jpeg(10, 10, 200), 'logo.jpg', { kind: 'brand' })).json()) as Json).asset.path;
    seedPath = ((await (await upload(app, await jpeg(200, 100, 10), 'seed.jpg')).json()) as Json).asset.path;
    await app.whenIdle();
  });
  after(() => app?.stop());

  describe('security headers on the UI and the API', () => {
    for (const [what, path] of [
      ['web UI page', '/'],
      ['web UI script', '/app.js'],
      ['API docs', '/docs'],
      ['API JSON', '/v1/assets'],
      ['API error', '/v1/nothing-here'],
    ] as const) {
      it(what, async () => {
        const res = await app.api(path);
        const csp = res.headers.get('content-security-policy') ?? '';
        assert.match(csp, /frame-ancestors 'none'/);
        assert.match(csp, /default-src 'self'/);
        assert.match(csp, /script-src 'self'(;|$)/, 'no inline or eval script');
        assert.doesNotMatch(csp, /upgrade-insecure-requests/, 'plain-HTTP deployments keep working');
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
        assert.equal(res.headers.get('x-frame-options'), 'DENY');
        assert.equal(res.headers.get('x-powered-by'), null);
        await res.arrayBuffer();
      });
    }
  });

  it('keeps a non-ASCII file name: ASCII slug in the storage key, the NFC original in the asset', async () => {
    const decomposed = 'chien-e\u0301te\u0301-plage.jpg';
    const res = await upload(app, await jpeg(1, 150, 200), decomposed);
    assert.equal(res.status, 201);
    const { asset } = (await res.json()) as Json;
    assert.match(asset.path, /^seeds\/demo\/[0-9a-f]{24}\/chien-ete-plage\.jpg$/);
    assert.equal(asset.originalName, 'chien-été-plage.jpg');
    assert.equal(asset.originalName, asset.originalName.normalize('NFC'));
    const listed = (await (await app.api('/v1/assets?kind=seed&limit=50')).json()) as Json;
    assert.equal(listed.items.find((a: Json) => a.path === asset.path)?.originalName, 'chien-été-plage.jpg');

    const cjk = (await (await upload(app, await jpeg(3, 4, 5), '猫の写真.jpg')).json()) as Json;
    assert.match(cjk.asset.path, /\/image\.jpg$/);
    assert.equal(cjk.asset.originalName, '猫の写真.jpg');

    // Searchable by the name as uploaded (without a caption, the caption encoder reads the file
    // name: the original, not the slug, which for this one says only "image").
    await app.whenIdle();
    const found = (await (await app.api('/v1/search', { method: 'POST', json: { text: '猫の写真', k: 3, encoders: ['caption'] } })).json()) as Json;
    assert.equal(found.hits[0]?.path, cjk.asset.path, JSON.stringify(found.hits));
    assert.equal(found.hits[0].caption, '猫の写真');
    const accented = (await (await app.api('/v1/search', { method: 'POST', json: { text: 'chien été plage', k: 3, encoders: ['caption'] } })).json()) as Json;
    assert.equal(accented.hits[0]?.path, asset.path);
    assert.equal(accented.hits[0].caption, 'chien été plage');
  });

  describe('decoder errors as a plain message, without libvips internals', () => {
    const cases: [string, () => Promise<Buffer>][] = [
      ['an unreadable header', async () => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(400, 7)])],
      [
        'a truncated image',
        async () => {
          const noisy = await sharp(Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 37) % 251)), { raw: { width: 64, height: 64, channels: 3 } })
            .png()
            .toBuffer();
          return noisy.subarray(0, Math.floor(noisy.length / 2));
        },
      ],
    ];
    for (const [what, bytes] of cases) {
      it(what, async () => {
        const res = await upload(app, await bytes(), 'broken.png');
        const body = (await res.json()) as Json;
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(body.error.code, 'invalid_image');
        assert.deepEqual(body.error.issues, [{ field: 'file', reason: 'corrupt image' }]);
        assert.match(body.error.message, /(damaged|truncated or corrupt)/);
        assert.doesNotMatch(body.error.message, /vips|Vips|buffer|libpng|jpeg_|: [a-z]+load/i);
      });
    }
  });

  describe('brandPath is checked when the conversation is created, not at the final "yes"', () => {
    const cases: [string, () => string, string, number][] = [
      ['a brand image that does not exist', () => `${brandPath.slice(0, brandPath.lastIndexOf('/'))}/missing.jpg`, 'not_found', 404],
      ["another tenant's brand image", () => brandPath.replace('/demo/', '/other/'), 'not_found', 404],
      ['a seed photo, not a brand image', () => seedPath, 'not_found', 404],
    ];
    for (const [what, path, code, status] of cases) {
      it(`${what} → ${status} on brandPath, and no conversation starts`, async () => {
        await app.whenIdle();
        const before = await snapshotDir(app.dataDir);
        const res = await app.api('/v1/conversations', { method: 'POST', json: { segment: 'busy parents', brandPath: path() } });
        const body = (await res.json()) as Json;
        assert.equal(res.status, status, JSON.stringify(body));
        assert.equal(body.error.code, code);
        assert.equal(body.error.issues[0].field, 'brandPath');
        await app.whenIdle();
        assert.deepEqual(await snapshotDir(app.dataDir), before);
      });
    }

    it('the same check on POST /v1/ads', async () => {
      const res = await app.api('/v1/ads', { method: 'POST', json: { seedPath, brandPath: seedPath } });
      assert.equal(res.status, 404);
      assert.equal(((await res.json()) as Json).error.issues[0].field, 'brandPath');
    });

    it("the tenant's own brand image is accepted and kept on the conversation", async () => {
      const res = await app.api('/v1/conversations', { method: 'POST', json: { segment: 'busy parents', brandPath } });
      assert.equal(res.status, 201);
      assert.equal(((await res.json()) as Json).brandPath, brandPath);
    });
  });
});
