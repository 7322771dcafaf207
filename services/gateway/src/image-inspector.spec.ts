import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';

import { ApiError } from './http-errors';
import { inspectImage } from './image-inspector';

const MAX_PIXELS = 1_000_000;
const VIPS_INTERNALS = /vips|buffer|libpng|jpeg_|: [a-z]+load/i;

const solid = (width: number, height: number) => sharp({ create: { width, height, channels: 3, background: '#3a7' } });
const noisy = (width: number, height: number) =>
  sharp(Buffer.from(Array.from({ length: width * height * 3 }, (_, i) => (i * 37) % 251)), { raw: { width, height, channels: 3 } });

async function refusal(bytes: Buffer, maxPixels = MAX_PIXELS): Promise<ApiError> {
  return inspectImage(bytes, maxPixels).then(
    () => assert.fail('expected the upload to be refused'),
    (error: unknown) => {
      assert.ok(error instanceof ApiError, String(error));
      assert.doesNotMatch(error.message, VIPS_INTERNALS);
      return error;
    },
  );
}

describe(inspectImage.name, () => {
  it('names the type by content and reads the size, whatever the bytes are called', async () => {
    assert.deepEqual(await inspectImage(await solid(30, 20).jpeg().toBuffer(), MAX_PIXELS), {
      contentType: 'image/jpeg',
      extension: 'jpg',
      width: 30,
      height: 20,
    });
    assert.deepEqual(await inspectImage(await solid(31, 21).png().toBuffer(), MAX_PIXELS), {
      contentType: 'image/png',
      extension: 'png',
      width: 31,
      height: 21,
    });
    assert.deepEqual(await inspectImage(await solid(32, 22).webp().toBuffer(), MAX_PIXELS), {
      contentType: 'image/webp',
      extension: 'webp',
      width: 32,
      height: 22,
    });
  });

  it('refuses what is not a JPEG, PNG or WebP image with 415, images of other formats included', async () => {
    const inputs: [string, Buffer][] = [
      ['text', Buffer.from('just some text, not an image')],
      ['nothing', Buffer.alloc(0)],
      ['a GIF', await solid(4, 4).gif().toBuffer()],
      ['a TIFF', await solid(4, 4).tiff().toBuffer()],
      ['an SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>')],
    ];
    for (const [what, bytes] of inputs) {
      const error = await refusal(bytes);
      assert.equal(error.status, 415, what);
      assert.equal(error.code, 'unsupported_media_type', what);
      assert.equal(error.message, 'the file is not a JPEG, PNG or WebP image (checked by content, not by name)');
      assert.deepEqual(error.issues, [{ field: 'file', reason: 'unsupported type' }]);
    }
  });

  it('refuses a damaged header with 400 invalid_image and a plain message', async () => {
    const inputs: [string, Buffer][] = [
      ['a JPEG start and noise', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(400, 7)])],
      ['a PNG signature alone', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
      ['a WebP RIFF header and noise', Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBP'), Buffer.alloc(50, 1)])],
    ];
    for (const [what, bytes] of inputs) {
      const error = await refusal(bytes);
      assert.equal(error.status, 400, what);
      assert.equal(error.code, 'invalid_image', what);
      assert.match(error.message, /header cannot be read: the file is damaged/, what);
      assert.deepEqual(error.issues, [{ field: 'file', reason: 'corrupt image' }]);
    }
  });

  it('refuses a truncated image with 400 invalid_image after decoding it', async () => {
    const png = await noisy(64, 64).png().toBuffer();
    const error = await refusal(png.subarray(0, Math.floor(png.length / 2)));
    assert.equal(error.status, 400);
    assert.equal(error.code, 'invalid_image');
    assert.equal(error.message, 'the PNG image cannot be decoded: the file is truncated or corrupt');
  });

  it('refuses more pixels than allowed from the header, with 413', async () => {
    const error = await refusal(await solid(200, 100).png().toBuffer(), 19_999);
    assert.equal(error.status, 413);
    assert.equal(error.code, 'image_too_large');
    assert.equal(error.message, 'the image is 200×100 = 20000 pixels; the limit is 19999');
  });
});
