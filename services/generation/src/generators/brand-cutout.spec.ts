import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { contrastWithWhite, cropRgba, darkenForWhiteText, dominantAccentColour, opaqueBounds, removeWhiteBackground, type RgbaImage } from './brand-cutout';

const WHITE = [255, 255, 255, 255];
const RED = [200, 30, 30, 255];

/** Builds an RGBA image from rows of single-character pixels using `palette`. */
function picture(rows: string[], palette: Record<string, number[]>): RgbaImage {
  const height = rows.length;
  const width = rows[0].length;
  const data = Buffer.alloc(width * height * 4);
  rows.forEach((row, y) => [...row].forEach((ch, x) => data.set(palette[ch], (y * width + x) * 4)));
  return { data, width, height };
}

function alphaMap(image: RgbaImage): number[][] {
  return Array.from({ length: image.height }, (_, y) => Array.from({ length: image.width }, (_, x) => image.data[(y * image.width + x) * 4 + 3]));
}

describe(removeWhiteBackground.name, () => {
  const ring = picture(['.......', '.RRRRR.', '.R...R.', '.R...R.', '.R...R.', '.RRRRR.', '.......'], { '.': WHITE, R: RED });

  it('clears the border-connected white and keeps the white the product encloses', () => {
    const alpha = alphaMap(removeWhiteBackground(ring));
    assert.deepEqual(alpha[0], [0, 0, 0, 0, 0, 0, 0]);
    assert.equal(alpha[3][0], 0);
    assert.deepEqual(alpha[3].slice(2, 5), [255, 255, 255], 'enclosed white stays opaque');
  });

  it('softens only the outermost ring of the product', () => {
    const alpha = alphaMap(removeWhiteBackground(ring));
    // Edge-middle pixel: 3 of its 9 neighbours are background; corner pixel: 5 of 9.
    assert.equal(alpha[3][1], Math.round((255 * 6) / 9));
    assert.equal(alpha[1][1], Math.round((255 * 4) / 9));
    assert.equal(alpha[3][2], 255, 'one pixel in, fully opaque');
  });

  it('does not leak through a diagonal gap in an outline', () => {
    const diagonal = picture(['....', '.R..', '..R.', '....'], { '.': WHITE, R: RED });
    const closed = picture(['RRRRR', 'R...R', 'R...R', 'RRR.R', 'RR.RR'], { '.': WHITE, R: RED });
    assert.equal(alphaMap(removeWhiteBackground(diagonal))[2][1], 0, 'white next to the diagonal is reached via the outside');
    // Inside "closed" only a diagonal step (3,3)->(4,2) touches the border white: 4-connectivity keeps it.
    assert.equal(alphaMap(removeWhiteBackground(closed))[1][2], 255);
  });

  it('treats near-white within the tolerance as background, and transparent pixels too', () => {
    const noisy = picture(['ab', 'cR'], { a: [240, 236, 250, 255], b: [10, 10, 10, 0], c: [250, 250, 200, 255], R: RED });
    const alpha = alphaMap(removeWhiteBackground(noisy, { tolerance: 20 }));
    assert.equal(alpha[0][0], 0, 'near-white');
    assert.equal(alpha[0][1], 0, 'transparent');
    assert.ok(alpha[1][0] > 0, 'pale yellow is product, not background');
  });

  it('keeps colours and does not modify its input', () => {
    const before = Buffer.from(ring.data);
    const cut = removeWhiteBackground(ring);
    assert.ok(ring.data.equals(before));
    assert.deepEqual([...cut.data.subarray(8 * 4, 8 * 4 + 3)], RED.slice(0, 3));
  });
});

describe(opaqueBounds.name, () => {
  it('finds the box of visible pixels, or nothing', () => {
    const image = picture(['....', '..R.', '.RR.', '....'], { '.': [0, 0, 0, 0], R: RED });
    assert.deepEqual(opaqueBounds(image), { left: 1, top: 1, width: 2, height: 2 });
    assert.deepEqual(cropRgba(image, { left: 1, top: 1, width: 2, height: 2 }).data.length, 16);
    assert.equal(opaqueBounds(picture(['..'], { '.': [9, 9, 9, 0] })), undefined);
  });
});

describe(dominantAccentColour.name, () => {
  it('returns the most common saturated colour, ignoring greys and transparent pixels', () => {
    const image = picture(['GGGBBO', 'GGGBB.'], {
      G: [128, 128, 128, 255],
      B: [20, 90, 180, 255],
      O: [245, 160, 60, 255],
      '.': [255, 0, 0, 0],
    });
    assert.deepEqual(dominantAccentColour(image), { r: 20, g: 90, b: 180 });
    assert.equal(dominantAccentColour(picture(['GG'], { G: [128, 128, 128, 255] })), undefined);
  });

  it('prefers a colour that white text can sit on when it is common enough', () => {
    const image = picture(['OOOOOBB'], { O: [245, 160, 60, 255], B: [20, 90, 180, 255] });
    assert.deepEqual(dominantAccentColour(image), { r: 245, g: 160, b: 60 });
    assert.deepEqual(dominantAccentColour(image, 3), { r: 20, g: 90, b: 180 });
  });
});

describe(darkenForWhiteText.name, () => {
  it('darkens until white text reaches the contrast, keeping colours that already do', () => {
    const orange = { r: 245, g: 160, b: 60 };
    assert.ok(contrastWithWhite(orange) < 3);
    const darker = darkenForWhiteText(orange, 4.5);
    assert.ok(contrastWithWhite(darker) >= 4.5);
    assert.ok(darker.r > darker.b, 'hue kept');
    const navy = { r: 10, g: 30, b: 90 };
    assert.deepEqual(darkenForWhiteText(navy), navy);
  });
});
