import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import sharp from 'sharp';

import { AD_FONT_FAMILY, escapeXml, fitText, measureBoldText, normaliseAdText } from './text-layout';

/** Width in px that librsvg actually inks for `text` in bold at `fontSize`. */
async function renderedWidth(text: string, fontSize: number): Promise<number> {
  const width = Math.ceil(measureBoldText(text, fontSize) * 1.5) + 40;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${fontSize * 2}">` +
    `<rect width="100%" height="100%" fill="#ffffff"/>` +
    `<text x="10" y="${fontSize * 1.3}" font-family="${AD_FONT_FAMILY}" font-weight="bold" font-size="${fontSize}">${escapeXml(text)}</text></svg>`;
  const { info } = await sharp(Buffer.from(svg)).trim({ background: '#ffffff', threshold: 10 }).toBuffer({ resolveWithObject: true });
  return info.width;
}

describe(measureBoldText.name, () => {
  it('never underestimates what the installed font renders, and is close to it', async () => {
    for (const text of ['Pawsome', 'WWW MMM', 'Shop now & save 20%!', 'iiiii lllll']) {
      const estimate = measureBoldText(text, 60);
      const actual = await renderedWidth(text, 60);
      assert.ok(actual <= estimate + 1, `"${text}": rendered ${actual} px > estimate ${estimate.toFixed(1)} px`);
      assert.ok(actual >= estimate * 0.85, `"${text}": rendered ${actual} px, estimate ${estimate.toFixed(1)} px is loose`);
    }
  });

  it('charges unknown characters a wide advance', () => {
    assert.ok(measureBoldText('犬', 10) >= measureBoldText('W', 10));
  });
});

describe(fitText.name, () => {
  const box = { maxWidth: 400, maxLines: 2, maxFontSize: 60, minFontSize: 30 };

  it('keeps short text on one line at the largest size', () => {
    const fitted = fitText('Hello', box);
    assert.deepEqual(fitted.lines, ['Hello']);
    assert.equal(fitted.fontSize, 60);
    assert.equal(fitted.truncated, false);
  });

  it('wraps at spaces, then shrinks, keeping every line inside the width', () => {
    const fitted = fitText('Real food for the friend who waits by the door', box);
    assert.ok(fitted.lines.length <= 2);
    assert.equal(fitted.lines.join(' '), 'Real food for the friend who waits by the door');
    assert.ok(fitted.fontSize < 60 && fitted.fontSize >= 30);
    for (const line of fitted.lines) assert.ok(measureBoldText(line, fitted.fontSize) <= 400);
  });

  it('cuts text that cannot fit with an ellipsis, breaking long words if needed', () => {
    const fitted = fitText('Supercalifragilisticexpialidocious '.repeat(6), box);
    assert.equal(fitted.truncated, true);
    assert.equal(fitted.fontSize, 30);
    assert.equal(fitted.lines.length, 2);
    assert.ok(fitted.lines[1].endsWith('\u2026'));
    for (const line of fitted.lines) assert.ok(measureBoldText(line, 30) <= 400, `"${line}" too wide`);
  });

  it('returns no lines for blank text', () => {
    assert.deepEqual(fitText(' \t ', box).lines, []);
  });
});

describe(escapeXml.name, () => {
  it('escapes markup characters so text cannot inject SVG', () => {
    assert.equal(escapeXml(`<a href="x">&'`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  });
});

describe(normaliseAdText.name, () => {
  it('collapses whitespace and drops control characters', () => {
    assert.equal(normaliseAdText('  Fresh\n\tfood\u0007 now  '), 'Fresh food now');
  });
});
