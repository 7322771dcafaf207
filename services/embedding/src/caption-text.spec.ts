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
});
