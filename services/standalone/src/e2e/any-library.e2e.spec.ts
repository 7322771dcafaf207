import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { ABSENT_SUBJECTS, PRODUCT_LIBRARY, SEGMENTS, type LibraryPhoto } from './product-library';
import { startTestApp, type TestApp } from './harness';

type Json = Record<string, any>;

const TENANT = 'outdoor-co';
const ATTRIBUTION = 'Outdoor Co. photo team';
/** Words of the demo's pet library: none may reach the agent's replies for a library without pets. */
const PET_WORDS = /\b(?:dogs?|cats?|pupp(?:y|ies)|kittens?|breeds?|pets?|species|hounds?|terriers?|spaniels?)\b/i;

/** Two photos whose rights forbid use: search and the agent must never return them. */
const FORBIDDEN: (LibraryPhoto & { rights: Record<string, string> })[] = [
  { file: 'kayak-1.jpg', caption: 'A kayak on a calm river', tags: ['kayak', 'outdoor gear'], rgb: [250, 200, 0], rights: { licence: 'none' } },
  {
    file: 'surfboard-1.jpg',
    caption: 'A surfboard on a sandy beach',
    tags: ['surfboard', 'outdoor gear'],
    rgb: [0, 120, 250],
    rights: { licence: 'owned', expiresAt: '2020-01-01T00:00:00Z' },
  },
];

async function upload(app: TestApp, photo: LibraryPhoto, fields: Record<string, string>): Promise<Json> {
  const bytes = await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: photo.rgb[0], g: photo.rgb[1], b: photo.rgb[2] } } })
    .jpeg()
    .toBuffer();
  const form = new FormData();
  form.set('file', new Blob([new Uint8Array(bytes)]), photo.file);
  form.set('caption', photo.caption);
  form.set('tags', photo.tags.join(','));
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  const res = await app.api('/v1/assets', { method: 'POST', body: form, tenant: TENANT });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as Json;
}

describe('any library: a non-pet library through the REST API (embedded mode)', () => {
  let app: TestApp;
  const photoByFile = new Map<string, LibraryPhoto>();
  const agentSaid: string[] = [];
  const json = async (path: string, init: RequestInit & { json?: unknown } = {}, status = 200): Promise<Json> => {
    const res = await app.api(path, { ...init, tenant: TENANT });
    assert.equal(res.status, status, `${path}: ${await res.clone().text()}`);
    return (await res.json()) as Json;
  };
  const converse = async (segment: string) => {
    let c = await json('/v1/conversations', { method: 'POST', json: { segment } }, 201);
    const say = async (text: string) => {
      c = await json(`/v1/conversations/${c.id}/messages`, { method: 'POST', json: { text } });
      return c;
    };
    return { first: c, say, get: () => c };
  };
  const photoOf = (path: string) =>
    photoByFile.get(
      path
        .split('/')
        .pop()!
        .replace(/^.*?(?=[a-z-]+-\d+\.jpg$)/, ''),
    )!;

  before(async () => {
    app = await startTestApp({ seedLibraryDir: null });
    for (const photo of PRODUCT_LIBRARY) {
      photoByFile.set(photo.file, photo);
      await upload(app, photo, { licence: 'owned', attribution: ATTRIBUTION });
    }
    for (const photo of FORBIDDEN) await upload(app, photo, photo.rights);
    await upload(app, { file: 'pack.png', caption: 'Outdoor Co. logo', tags: [], rgb: [20, 90, 40] }, { kind: 'brand' });
    await app.whenIdle();
  });
  after(() => app?.stop());

  it("lists the library's own subjects, near duplicates merged, with counts and example seeds", async () => {
    const { items } = await json('/v1/subjects');
    const byName = new Map(items.map((s: Json) => [s.name, s]));
    for (const name of ['running shoes', 'camping tent', 'espresso machine', 'pizza', 'beach resort', 'baby stroller'])
      assert.ok(byName.has(name), `${name} in ${[...byName.keys()].join(', ')}`);
    const shoes = byName.get('running shoes') as Json;
    assert.equal(shoes.seedCount, 4);
    assert.ok(shoes.aliases.includes('red running shoes'), `"red running shoes" merged into "running shoes": ${JSON.stringify(shoes.aliases)}`);
    assert.equal(shoes.exampleSeeds.length, 3);
    assert.equal(shoes.source, 'library');
    assert.match(shoes.id, /^[a-f0-9]{16}$/);
    assert.ok(!items.some((s: Json) => PET_WORDS.test(s.name)));
  });

  it('for every segment we wrote, proposes a subject that fits and shows a first seed that fits', async () => {
    const results: string[] = [];
    let fitting = 0;
    for (const { segment, fits } of SEGMENTS) {
      const { first, say } = await converse(segment);
      agentSaid.push(...first.messages.map((m: Json) => m.text));
      const c = await say('yes');
      agentSaid.push(...c.messages.map((m: Json) => m.text));
      const seed = c.currentSeed ? photoOf(c.currentSeed.path) : undefined;
      const subjectFits = fits.includes(first.subject.name);
      const seedFits = seed?.tags.some((t) => fits.includes(t)) ?? false;
      if (subjectFits && seedFits) fitting++;
      results.push(`${segment} → ${first.subject.name} → ${seed?.file ?? c.messages.at(-1).text}${subjectFits && seedFits ? '' : '  ✗'}`);
    }
    assert.equal(fitting, SEGMENTS.length, results.join('\n'));
  });

  it('holds the relevance floor: a subject the library lacks returns nothing, and the agent says so and moves on', async () => {
    for (const subject of ABSENT_SUBJECTS) {
      const floored = await json('/v1/search', { method: 'POST', json: { text: subject } });
      assert.equal(floored.hits.length, 0, `${subject}: ${JSON.stringify(floored.hits.map((h: Json) => [h.caption, h.scores]))}`);
      const all = await json('/v1/search', { method: 'POST', json: { text: subject, minScore: -1 } });
      assert.ok(all.hits.length > 0 && all.hits.every((h: Json) => h.belowFloor), 'with minScore, hits come back flagged belowFloor');
    }
    const { say } = await converse('winter sports fans');
    const c = await say('show me a snowboard');
    agentSaid.push(...c.messages.map((m: Json) => m.text));
    assert.equal(c.status, 'awaiting-subject');
    assert.match(c.messages.at(-1).text, /no photo of snowboard that is close enough to show/);
    assert.ok(c.subject.name !== 'snowboard');
  });

  it('fills the seed-gap report with what nothing cleared the floor for, with counts and best scores', async () => {
    const { say } = await converse('winter sports fans');
    await say('show me a snowboard');
    const { items } = await json('/v1/reports/seed-gaps');
    const snowboard = items.find((g: Json) => g.kind === 'subject' && g.text === 'snowboard');
    assert.ok(snowboard, JSON.stringify(items));
    assert.equal(snowboard.count, 2);
    assert.ok(snowboard.bestScore < 0.55, `best score ${snowboard.bestScore} is under the floor`);
    assert.ok(Date.parse(snowboard.lastSeenAt) >= Date.parse(snowboard.firstSeenAt));
  });

  it('adds a subject by name only when seeds clear the floor, and edits what the agent says about it', async () => {
    const rejected = await json('/v1/subjects', { method: 'POST', json: { name: 'grand piano' } }, 422);
    assert.equal(rejected.error.code, 'no_matching_seeds');
    const { subject } = await json('/v1/subjects', { method: 'POST', json: { name: 'trail shoes', description: 'Grip for muddy trails' } }, 201);
    assert.equal(subject.source, 'user');
    assert.ok(subject.seedCount >= 1);

    const { items } = await json('/v1/subjects');
    const guitar = items.find((s: Json) => s.name === 'acoustic guitar');
    const edited = await json(`/v1/subjects/${guitar.id}`, {
      method: 'PATCH',
      json: { description: 'Unplugged evenings with friends', audience: 'weekend musicians' },
    });
    assert.equal(edited.subject.description, 'Unplugged evenings with friends');
    const { first } = await converse('people who play music at weekends');
    assert.equal(first.subject.name, 'acoustic guitar');
    assert.equal(first.subject.reason, 'Unplugged evenings with friends — fits weekend musicians.');

    const disabled = await json(`/v1/subjects/${guitar.id}`, { method: 'PATCH', json: { disabled: true } });
    assert.equal(disabled.subject.disabled, true);
    const again = await converse('people who play music at weekends');
    assert.notEqual(again.first.subject.name, 'acoustic guitar');
    assert.ok(!(await json('/v1/subjects')).items.some((s: Json) => s.id === guitar.id), 'disabled subjects are listed only when asked');
    assert.ok((await json('/v1/subjects?includeDisabled=true')).items.some((s: Json) => s.id === guitar.id));
    await json('/v1/subjects/0000000000000000', { method: 'PATCH', json: { disabled: true } }, 404);
  });

  it('never returns an unlicensed or expired seed, and the ad carries the seed licence and attribution', async () => {
    for (const text of ['kayak', 'surfboard']) {
      const all = await json('/v1/search', { method: 'POST', json: { text, k: 50, minScore: -1 } });
      assert.ok(!all.hits.some((h: Json) => /kayak|surfboard/.test(h.path)), `${text}: ${JSON.stringify(all.hits.map((h: Json) => h.path))}`);
    }
    const { say } = await converse('home baristas');
    await say('yes');
    const c = await say('yes');
    assert.equal(c.status, 'done', c.messages.at(-1).text);
    assert.equal(c.ad.licence, 'owned');
    assert.equal(c.ad.attribution, ATTRIBUTION);
    assert.match(c.messages.at(-1).text, /Credit the photo: Outdoor Co\. photo team/);
  });

  it('deletes an asset (object, vectors, subject membership) and re-indexes one whose caption changed', async () => {
    const shoes = await json('/v1/search', { method: 'POST', json: { text: 'running shoes', k: 10 } });
    const victim = shoes.hits[0];
    const deleted = await json(`/v1/assets/${victim.assetId}`, { method: 'DELETE' });
    assert.deepEqual(deleted.deleted, { id: victim.assetId, path: victim.path });
    await app.whenIdle();
    await json(`/v1/assets/content?path=${encodeURIComponent(victim.path)}`, {}, 404);
    const after = await json('/v1/search', { method: 'POST', json: { text: 'running shoes', k: 10 } });
    assert.ok(!after.hits.some((h: Json) => h.assetId === victim.assetId));
    const subject = (await json('/v1/subjects')).items.find((s: Json) => s.name === 'running shoes');
    assert.equal(subject.seedCount, 3);
    await json(`/v1/assets/${victim.assetId}`, { method: 'DELETE' }, 404);

    const pizza = (await json('/v1/search', { method: 'POST', json: { text: 'pepperoni pizza', k: 1 } })).hits[0];
    const patched = await json(`/v1/assets/${pizza.assetId}`, { method: 'PATCH', json: { caption: 'A bowl of ramen noodles', tags: ['ramen', 'food'] } }, 202);
    assert.equal(patched.asset.caption, 'A bowl of ramen noodles');
    await app.whenIdle();
    const ramen = await json('/v1/search', { method: 'POST', json: { text: 'ramen', k: 1 } });
    assert.equal(ramen.hits[0]?.assetId, pizza.assetId);
    assert.ok((await json('/v1/subjects')).items.some((s: Json) => s.name === 'ramen'));
  });

  it('a library without pets produces no pet word anywhere in the agent replies', () => {
    assert.ok(agentSaid.length > 30);
    const offending = agentSaid.filter((t) => PET_WORDS.test(t));
    assert.deepEqual(offending, []);
  });
});
