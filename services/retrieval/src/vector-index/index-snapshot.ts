import { FileHandle, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { syncDirectory } from './record-log';

/**
 * The embedded index's snapshot: named binary sections (typed arrays, byte blobs) and a JSON
 * footer that lists them, so that loading is one large sequential read per section straight into
 * the arrays that the index searches, with no per-record parsing:
 *
 *   magic | section | pad to 64 | section | ... | footer JSON | u32le footer length | u32le crc32(footer) | magic
 *
 * Every section but the full-precision vectors carries a CRC-32 that is checked while it is
 * read; the vectors are checked row by row (the CRCs are a section) whenever a row is read, as
 * most rows are never read after start-up. Written to `<path>.tmp`, fsynced and renamed, so a
 * crash leaves either the old snapshot or the new one.
 */

export const SNAPSHOT_MAGIC = Buffer.from('ADSEEDX2', 'latin1');
const TRAILER_BYTES = 8 + SNAPSHOT_MAGIC.length;
const ALIGN = 64;
const IO_CHUNK = 16 << 20;

export interface SnapshotSection {
  offset: number;
  length: number;
  /** CRC-32 of the section, or null when its owner checks it in smaller pieces. */
  crc: number | null;
}

export interface SnapshotFooter<M> {
  meta: M;
  sections: Record<string, SnapshotSection>;
}

export class SnapshotWriter {
  private at = 0;
  private readonly sections: Record<string, SnapshotSection> = {};

  private constructor(
    private readonly path: string,
    private readonly file: FileHandle,
  ) {}

  static async create(path: string): Promise<SnapshotWriter> {
    const writer = new SnapshotWriter(path, await open(`${path}.tmp`, 'w'));
    await writer.put(SNAPSHOT_MAGIC);
    return writer;
  }

  async section(name: string, data: ArrayBufferView): Promise<void> {
    await this.stream(name, [bytesOf(data)], true);
  }

  /** A section written from chunks (e.g. rows read from other files); `checksum` as above. */
  async stream(name: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, checksum: boolean): Promise<void> {
    if (name in this.sections) throw new Error(`snapshot section ${name} written twice`);
    const pad = (ALIGN - (this.at % ALIGN)) % ALIGN;
    if (pad > 0) await this.put(Buffer.alloc(pad));
    const offset = this.at;
    let crc = 0;
    for await (const chunk of chunks) {
      if (checksum) crc = crc32(chunk, crc);
      await this.put(chunk);
    }
    this.sections[name] = { offset, length: this.at - offset, crc: checksum ? crc : null };
  }

  /** Writes the footer and makes the snapshot durable under its final name. */
  async finish<M>(meta: M): Promise<SnapshotFooter<M> & { bytes: number }> {
    const footer: SnapshotFooter<M> = { meta, sections: this.sections };
    const json = Buffer.from(JSON.stringify(footer), 'utf8');
    const trailer = Buffer.alloc(TRAILER_BYTES);
    trailer.writeUInt32LE(json.length, 0);
    trailer.writeUInt32LE(crc32(json), 4);
    SNAPSHOT_MAGIC.copy(trailer, 8);
    await this.put(json);
    await this.put(trailer);
    await this.file.sync();
    await this.file.close();
    await rename(`${this.path}.tmp`, this.path);
    await syncDirectory(dirname(this.path));
    return { ...footer, bytes: this.at };
  }

  async abort(): Promise<void> {
    await this.file.close().catch(() => undefined);
    await rm(`${this.path}.tmp`, { force: true });
  }

  private async put(data: Uint8Array): Promise<void> {
    for (let done = 0; done < data.length;) {
      const { bytesWritten } = await this.file.write(data, done, Math.min(IO_CHUNK, data.length - done));
      done += bytesWritten;
    }
    this.at += data.length;
  }
}

export class SnapshotReader<M> {
  private constructor(
    readonly path: string,
    readonly file: FileHandle,
    readonly footer: SnapshotFooter<M>,
    readonly bytes: number,
  ) {}

  /**
   * Opens a snapshot written by SnapshotWriter. Returns 'other' for a file that does not start
   * with the magic (an older format); throws when the file is damaged.
   */
  static async open<M>(path: string): Promise<SnapshotReader<M> | 'other'> {
    const file = await open(path, 'r');
    try {
      const size = (await file.stat()).size;
      const head = Buffer.alloc(SNAPSHOT_MAGIC.length);
      const { bytesRead } = await file.read(head, 0, head.length, 0);
      if (bytesRead < head.length || !head.equals(SNAPSHOT_MAGIC)) {
        await file.close();
        return 'other';
      }
      if (size < SNAPSHOT_MAGIC.length + TRAILER_BYTES) throw damaged(path, 'it is shorter than its header');
      const trailer = Buffer.alloc(TRAILER_BYTES);
      await readExactly(file, trailer, size - TRAILER_BYTES);
      if (!trailer.subarray(8).equals(SNAPSHOT_MAGIC)) throw damaged(path, 'its end marker is missing');
      const footerLength = trailer.readUInt32LE(0);
      if (footerLength > size - TRAILER_BYTES - SNAPSHOT_MAGIC.length) throw damaged(path, 'its footer length is impossible');
      const json = Buffer.alloc(footerLength);
      await readExactly(file, json, size - TRAILER_BYTES - footerLength);
      if (crc32(json) !== trailer.readUInt32LE(4)) throw damaged(path, 'its footer checksum does not match');
      const footer = JSON.parse(json.toString('utf8')) as SnapshotFooter<M>;
      for (const [name, s] of Object.entries(footer.sections)) {
        if (s.offset + s.length > size - TRAILER_BYTES - footerLength) throw damaged(path, `section ${name} runs past the footer`);
      }
      return new SnapshotReader(path, file, footer, size);
    } catch (error) {
      await file.close().catch(() => undefined);
      throw error;
    }
  }

  get meta(): M {
    return this.footer.meta;
  }

  section(name: string): SnapshotSection {
    const s = this.footer.sections[name];
    if (!s) throw damaged(this.path, `section ${name} is missing`);
    return s;
  }

  /** Reads a whole section into `into`, which must be exactly its size, checking its CRC-32. */
  async read(name: string, into: ArrayBufferView): Promise<void> {
    const s = this.section(name);
    const bytes = bytesOf(into);
    if (bytes.length !== s.length) throw damaged(this.path, `section ${name} has ${s.length} bytes where ${bytes.length} were expected`);
    let crc = 0;
    for (let done = 0; done < bytes.length; done += IO_CHUNK) {
      const piece = bytes.subarray(done, Math.min(bytes.length, done + IO_CHUNK));
      await readExactly(this.file, piece, s.offset + done);
      if (s.crc !== null) crc = crc32(piece, crc);
    }
    if (s.crc !== null && crc !== s.crc) throw damaged(this.path, `section ${name} fails its checksum`);
  }

  /** A section as a new typed array of `ctor`. */
  async readArray<T extends ArrayBufferView>(name: string, ctor: { new (n: number): T; BYTES_PER_ELEMENT: number }): Promise<T> {
    const s = this.section(name);
    if (s.length % ctor.BYTES_PER_ELEMENT !== 0) throw damaged(this.path, `section ${name} has a partial element`);
    const out = new ctor(s.length / ctor.BYTES_PER_ELEMENT);
    await this.read(name, out);
    return out;
  }

  async readBuffer(name: string): Promise<Buffer> {
    const out = Buffer.allocUnsafe(this.section(name).length);
    await this.read(name, out);
    return out;
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

function damaged(path: string, why: string): Error {
  return new Error(
    `snapshot ${path} is damaged (${why}). It is written to a temporary file and renamed, so this is not ` +
      'a torn write: restore it from backup, or delete it and wal.log to start an empty index.',
  );
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return view instanceof Uint8Array ? view : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

export async function readExactly(file: FileHandle, into: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < into.length;) {
    const { bytesRead } = await file.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file while reading ${into.length} bytes at ${position}`);
    done += bytesRead;
  }
}
