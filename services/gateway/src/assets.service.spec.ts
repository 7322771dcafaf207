import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { originalName, safeName } from './assets.service';

describe('upload file names', () => {
  it('safeName: an ASCII slug with accents dropped and a few letters transliterated', () => {
    assert.equal(safeName('chien-été-plage.jpg', 'jpg'), 'chien-ete-plage.jpg');
    assert.equal(safeName('chien-e\u0301te\u0301-plage.jpeg', 'jpg'), 'chien-ete-plage.jpg', 'decomposed input gives the same slug');
    assert.equal(safeName('Straße Øresund Łódź.png', 'png'), 'Strasse_Oresund_Lodz.png');
    assert.equal(safeName('猫 の 写真.webp', 'webp'), 'image.webp');
    assert.equal(safeName('..hidden.jpg', 'jpg'), 'hidden.jpg');
    assert.equal(safeName('a b  c.jpg', 'png'), 'a_b_c.png', 'the extension is what the bytes are, not what the name says');
    assert.match(safeName(`${'x'.repeat(300)}.jpg`, 'jpg'), /^x{100}\.jpg$/);
  });

  it('originalName: NFC, without control or bidi-override characters', () => {
    assert.equal(originalName('chien-e\u0301te\u0301-plage.jpg'), 'chien-été-plage.jpg');
    assert.equal(originalName('chien-été-plage.jpg')?.normalize('NFC'), originalName('chien-été-plage.jpg'));
    assert.equal(originalName('invoice\u202Egpj.exe'), 'invoicegpj.exe');
    assert.equal(originalName('a\u0000b\n.png'), 'ab.png');
    assert.equal(originalName('   '), undefined);
    assert.equal([...(originalName('é'.repeat(400)) ?? '')].length, 255);
  });
});
