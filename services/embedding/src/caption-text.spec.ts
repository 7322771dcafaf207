import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captionTextFor } from './caption-text';

describe(captionTextFor.name, () => {
  it('prefers the caption and adds tags it does not already say', () => {
    assert.equal(captionTextFor({ caption: 'Bengal, a cat', tags: ['Bengal', 'indoor'], path: 'seeds/demo/x.jpg' }), 'Bengal, a cat, indoor');
  });
  it('derives words from the file name when there is no caption', () => {
    assert.equal(captionTextFor({ tags: [], path: 'seeds/demo/golden_retriever_12.jpg' }), 'golden retriever');
  });
  it('ignores content-hash file names', () => {
    assert.equal(captionTextFor({ tags: [], path: 'seeds/demo/0123456789abcdef0123.jpg' }), undefined);
  });
  it("takes the name as uploaded over the storage key's ASCII slug, so non-ASCII names stay searchable", () => {
    assert.equal(captionTextFor({ tags: [], path: 'seeds/demo/ab/image.jpg', originalName: '猫の写真.jpg' }), '猫の写真');
    assert.equal(captionTextFor({ tags: [], path: 'seeds/demo/ab/chien-ete-plage.jpg', originalName: 'chien-e\u0301te\u0301-plage.jpg' }), 'chien été plage');
    assert.equal(captionTextFor({ caption: 'a dog on a beach', tags: [], path: 'seeds/demo/ab/image.jpg', originalName: '猫.jpg' }), 'a dog on a beach');
    assert.equal(captionTextFor({ tags: [], path: 'seeds/demo/ab/golden_retriever.jpg', originalName: '0123456789abcdef0123.jpg' }), 'golden retriever');
  });
});
