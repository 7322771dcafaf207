import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseManifest } from './manifest';

describe(parseManifest.name, () => {
  it('reads file, caption and ;-separated tags; every other column becomes a tag', () => {
    const rows = parseManifest('file,caption,tags,breed\ndogs/lake.jpg,a retriever in a lake,outdoor; water,Retriever\ndogs/park.jpg,,outdoor,\n');
    assert.deepEqual(rows, [
      { file: 'dogs/lake.jpg', caption: 'a retriever in a lake', tags: ['outdoor', 'water', 'Retriever'] },
      { file: 'dogs/park.jpg', tags: ['outdoor'] },
    ]);
  });

  it('matches header names case-insensitively, trims cells, and drops duplicate tags', () => {
    const rows = parseManifest(' File , CAPTION ,Tags,kind\n  a.jpg ,  hello  ,dog;dog, dog \n');
    assert.deepEqual(rows, [{ file: 'a.jpg', caption: 'hello', tags: ['dog'] }]);
  });

  it('unquotes quoted cells, keeping commas and doubled quotes inside them', () => {
    const rows = parseManifest('file,caption\n"a,b.jpg","a ""big"" dog, outside"\n');
    assert.deepEqual(rows, [{ file: 'a,b.jpg', caption: 'a "big" dog, outside', tags: [] }]);
  });

  it('accepts CRLF line ends, a byte-order mark and blank lines, and rows shorter or longer than the header', () => {
    const rows = parseManifest('\uFEFFfile,caption,tags\r\n\r\na.jpg\r\n   \r\nb.jpg,two,x,extra\r\n');
    assert.deepEqual(rows, [
      { file: 'a.jpg', tags: [] },
      { file: 'b.jpg', caption: 'two', tags: ['x'] },
    ]);
  });

  it('reads the rights columns (licence or license, expires, ;-separated channels)', () => {
    const rows = parseManifest('file,license,attribution,expires_at,channels\na.jpg,CC-BY-4.0,Jane Doe,2030-01-01T00:00:00Z,web; print\n');
    assert.deepEqual(rows, [
      { file: 'a.jpg', tags: [], rights: { licence: 'CC-BY-4.0', attribution: 'Jane Doe', expiresAt: '2030-01-01T00:00:00Z', channels: ['web', 'print'] } },
    ]);
  });

  it('names the line of a row whose rights do not parse', () => {
    assert.throws(() => parseManifest('file,expires\na.jpg,2030-01-01T00:00:00Z\nb.jpg,next tuesday\n'), /^Error: manifest line 3: expiresAt /);
    // The line in the file, where an editor shows it: blank lines and quoted line breaks count.
    assert.throws(
      () => parseManifest('file,caption,expires\n\na.jpg,"two\nlines",2030-01-01T00:00:00Z\n\nb.jpg,x,next tuesday\n'),
      /^Error: manifest line 6: expiresAt /,
    );
  });

  it('keeps a line break inside a quoted caption', () => {
    assert.deepEqual(parseManifest('file,caption\na.jpg,"first line\nsecond line"\n'), [{ file: 'a.jpg', caption: 'first line\nsecond line', tags: [] }]);
  });

  it('needs a file column', () => {
    assert.throws(() => parseManifest('name,caption\na.jpg,x\n'), /the manifest needs a `file` column/);
    assert.throws(() => parseManifest(''), /the manifest needs a `file` column/);
  });
});
