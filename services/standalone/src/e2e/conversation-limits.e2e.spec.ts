import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startTestApp, type TestApp } from './harness';

type Json = Record<string, any>;

const MAX = 10;

describe('conversation limits, through the REST API', () => {
  let app: TestApp;

  before(async () => {
    app = await startTestApp({ env: { ADSEED_CONVERSATION_MAX_MESSAGES: String(MAX) } });
    // One seed photo is enough for a conversation to reach its ad.
    const form = new FormData();
    const jpeg = await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 180, g: 120, b: 60 } } })
      .jpeg()
      .toBuffer();
    form.set('file', new Blob([new Uint8Array(jpeg)]), 'beagle.jpg');
    form.set('caption', 'a beagle dog playing outside');
    assert.equal((await app.api('/v1/assets', { method: 'POST', body: form })).status, 201);
    await app.whenIdle();
  });
  after(() => app?.stop());

  const startConversation = async (): Promise<Json> => {
    const res = await app.api('/v1/conversations', { method: 'POST', json: { segment: 'outdoor-loving dog owners' } });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as Json;
  };
  const say = (id: string, text: string) => app.api(`/v1/conversations/${id}/messages`, { method: 'POST', json: { text } });

  it('a reply to a conversation whose ad is done is 409 conversation_done; a new conversation works', async () => {
    const c = await startConversation();
    let res = await say(c.id, 'yes');
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(((await res.json()) as Json).status, 'awaiting-seed');
    res = await say(c.id, 'yes');
    const done = (await res.json()) as Json;
    assert.equal(done.status, 'done', JSON.stringify(done.messages));

    res = await say(c.id, 'now one for cat owners');
    assert.equal(res.status, 409);
    const body = (await res.json()) as Json;
    assert.equal(body.error.code, 'conversation_done');
    assert.match(body.error.message, /start a new conversation/);
    const stored = (await (await app.api(`/v1/conversations/${c.id}`)).json()) as Json;
    assert.equal(stored.messages.length, done.messages.length, 'the refused reply was not stored');

    const again = await startConversation();
    assert.equal((await say(again.id, 'yes')).status, 200);
  });

  it(`a conversation holds at most ${MAX} messages: past the cap, 409 conversation_full with the limit`, async () => {
    const c = await startConversation();
    let accepted = 0;
    let res: Response;
    for (;;) {
      res = await say(c.id, 'hmm, what do you mean?');
      if (res.status !== 200) break;
      accepted++;
      assert.ok(accepted < MAX, 'the cap was never reached');
    }
    assert.equal(res.status, 409, await res.clone().text());
    const body = (await res.json()) as Json;
    assert.equal(body.error.code, 'conversation_full');
    assert.match(body.error.message, new RegExp(`limit is ${MAX}`));
    assert.ok(accepted >= 2, `${accepted} replies accepted before the cap`);
    const stored = (await (await app.api(`/v1/conversations/${c.id}`)).json()) as Json;
    assert.ok(stored.messages.length <= MAX, `${stored.messages.length} messages stored`);
    assert.ok(stored.messages.length > MAX - 2, 'the cap, not something earlier, stopped it');
  });
});
