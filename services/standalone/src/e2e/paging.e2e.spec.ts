import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { ABSENT_SUBJECTS, PRODUCT_LIBRARY } from './product-library';
import { startTestApp, type TestApp } from './harness';

type Json = Record<string, any>;

const TENANT = 'paging';
/** Twelve photos of four subjects (three each): enough for several pages of every list. */
const PHOTOS = PRODUCT_LIBRARY.filter((p) => ['running shoes', 'camping tent', 'hiking boots', 'coffee mug'].includes(p.tags[0])).slice(0, 12);

describe('every list is paged: { items, nextCursor? } with limit and cursor, through the REST API', () => {
  let app: TestApp;
  const json = async (path: string, init: RequestInit & { json?: unknown } = {}, status = 200): Promise<Json> => {
    const res = await app.api(path, { ...init, tenant: TENANT });
    assert.equal(res.status, status, `${path}: ${await res.clone().text()}`);
    return (await res.json()) as Json;
  };
  /** Follows nextCursor until it is absent; every page holds at most `limit` items. */
  const allPages = async (path: string, limit: number): Promise<{ items: Json[]; pages: number }> => {
    const items: Json[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const page = await json(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.ok(page.items.length <= limit, `a page of ${page.items.length} > limit ${limit}`);
      if (page.nextCursor !== undefined) assert.equal(page.items.length, limit, 'only the last page may be short');
      items.push(...page.items);
      cursor = page.nextCursor;
      pages++;
      assert.ok(pages < 100, 'paging ends');
    } while (cursor);
    return { items, pages };
  };

  before(async () => {
    app = await startTestApp({ seedLibraryDir: null });
    for (const photo of PHOTOS) {
      const bytes = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: photo.rgb[0], g: photo.rgb[1], b: photo.rgb[2] } } })
        .jpeg()
        .toBuffer();
      const form = new FormData();
      form.set('file', new Blob([new Uint8Array(bytes)]), photo.file);
      form.set('caption', photo.caption);
      form.set('tags', photo.tags.join(','));
      assert.equal((await app.api('/v1/assets', { method: 'POST', body: form, tenant: TENANT })).status, 201);
    }
    await app.whenIdle();
    // Names nothing in the library shows: each is refused and recorded as a seed gap.
    for (const name of [...ABSENT_SUBJECTS, 'snow chains', 'violin']) await json('/v1/subjects', { method: 'POST', json: { name } }, 422);
  });
  after(() => app?.stop());

  it('GET /v1/assets: pages of `limit` add up to the whole list, each asset once', async () => {
    const whole = await json('/v1/assets?kind=seed&limit=500');
    assert.equal(whole.items.length, PHOTOS.length);
    assert.equal(whole.nextCursor, undefined);
    const { items, pages } = await allPages('/v1/assets?kind=seed', 5);
    assert.equal(pages, 3);
    assert.deepEqual(
      items.map((a) => a.id),
      whole.items.map((a: Json) => a.id),
    );
  });

  it('GET /v1/subjects: pages add up to the whole list in the same order, each subject once', async () => {
    const whole = await json('/v1/subjects?limit=500');
    assert.ok(whole.items.length >= 5, `enough subjects to page: ${whole.items.map((s: Json) => s.name)}`);
    assert.equal(whole.nextCursor, undefined);
    const { items, pages } = await allPages('/v1/subjects', 2);
    assert.equal(pages, Math.ceil(whole.items.length / 2));
    assert.deepEqual(
      items.map((s) => s.id),
      whole.items.map((s: Json) => s.id),
    );
  });

  it('GET /v1/subjects: a page resumes after its cursor even when the list changed in between', async () => {
    const first = await json('/v1/subjects?limit=2');
    // Disabling a subject on the first page removes it from the list: an offset would now skip one.
    await json(`/v1/subjects/${first.items[0].id}`, { method: 'PATCH', json: { disabled: true } });
    const rest = await allPages(`/v1/subjects?cursor=${encodeURIComponent(first.nextCursor)}`, 500);
    const now = await json('/v1/subjects?limit=500');
    assert.deepEqual(
      rest.items.map((s) => s.id),
      now.items.slice(1).map((s: Json) => s.id),
    );
    await json(`/v1/subjects/${first.items[0].id}`, { method: 'PATCH', json: { disabled: false } });
  });

  it('GET /v1/reports/seed-gaps: pages add up to the whole report in the same order', async () => {
    const whole = await json('/v1/reports/seed-gaps?limit=500');
    assert.equal(whole.items.length, ABSENT_SUBJECTS.length + 2, JSON.stringify(whole.items.map((g: Json) => g.text)));
    const { items, pages } = await allPages('/v1/reports/seed-gaps', 4);
    assert.equal(pages, 2);
    assert.deepEqual(
      items.map((g) => `${g.kind}:${g.text}`),
      whole.items.map((g: Json) => `${g.kind}:${g.text}`),
    );
  });

  it('a malformed cursor is 400 naming query.cursor', async () => {
    for (const path of [
      '/v1/subjects?cursor=bm90LWEtY3Vyc29y',
      '/v1/reports/seed-gaps?cursor=%7B%7D',
      '/v1/assets?cursor=elsewhere/x',
      '/v1/jobs?cursor=not-a-job',
    ]) {
      const body = await json(path, {}, 400);
      assert.equal(body.error.code, 'validation_failed');
      assert.deepEqual(
        body.error.issues.map((i: Json) => i.field),
        ['query.cursor'],
        path,
      );
    }
  });

  it("a well-formed cursor is a position in the caller's own listing: another tenant using ours pages only its own items", async () => {
    const OTHER = 'paging-other';
    const other = async (path: string): Promise<Json> => {
      const res = await app.api(path, { tenant: OTHER });
      assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
      return (await res.json()) as Json;
    };
    for (const photo of PHOTOS.slice(0, 6)) {
      const bytes = await sharp({ create: { width: 48, height: 64, channels: 3, background: { r: photo.rgb[2], g: photo.rgb[1], b: photo.rgb[0] } } })
        .png()
        .toBuffer();
      const form = new FormData();
      form.set('file', new Blob([new Uint8Array(bytes)]), `other-${photo.file}`);
      form.set('caption', photo.caption);
      form.set('tags', photo.tags.join(','));
      assert.equal((await app.api('/v1/assets', { method: 'POST', body: form, tenant: OTHER })).status, 201);
    }
    await app.whenIdle();
    for (const [list, ofItem] of [
      ['/v1/assets?kind=seed', (a: Json) => a.id],
      ['/v1/subjects', (s: Json) => s.id],
    ] as const) {
      const ours = await json(`${list}${list.includes('?') ? '&' : '?'}limit=1`);
      assert.ok(ours.nextCursor, `${list}: a cursor to borrow`);
      const theirs = await other(`${list}${list.includes('?') ? '&' : '?'}limit=500`);
      const page = await other(`${list}${list.includes('?') ? '&' : '?'}limit=500&cursor=${encodeURIComponent(ours.nextCursor)}`);
      // The page is the rest of the other tenant's own list after that position: a suffix of it.
      assert.deepEqual(page.items.map(ofItem), theirs.items.slice(theirs.items.length - page.items.length).map(ofItem), list);
    }
    // A cursor nobody issued but well-formed ("AA" is the position before every key) is a position too.
    const forged = await other('/v1/assets?kind=seed&limit=500&cursor=AA');
    const whole = await other('/v1/assets?kind=seed&limit=500');
    assert.equal(whole.items.length, 6);
    assert.deepEqual(
      forged.items.map((a: Json) => a.id),
      whole.items.map((a: Json) => a.id),
    );
    assert.ok(forged.items.every((a: Json) => a.tenant === OTHER));
  });
});
