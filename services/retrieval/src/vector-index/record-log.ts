import { constants as fsConstants } from 'node:fs';
import { FileHandle, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * The on-disk framing shared by the write-ahead log and the snapshot:
 *   frame = u32le bodyLength | u32le crc32(body) | body
 *   body  = u8 kind | u32le headerLength | header (UTF-8 JSON) | raw little-endian float32 data
 * A frame whose length runs past the end of the file or whose checksum fails marks the end of
 * the valid data: that is what a write torn by a crash looks like.
 */

export enum FrameKind {
  Header = 1,
  Upsert = 2,
  Delete = 3,
  SnapshotEnd = 4,
}

export interface Frame {
  kind: FrameKind;
  header: unknown;
  /** Raw float data following the header, 4-byte aligned (a view of the body read when aligned, else a copy). */
  floats: Float32Array;
  /** Where the float data starts, in bytes from the start of the frame (its length prefix). */
  floatsAt: number;
}

const FRAME_PREFIX_BYTES = 8;
const BODY_PREFIX_BYTES = 5;
/** Refuse absurd lengths from a corrupt prefix rather than trying to allocate them. */
export const MAX_FRAME_BYTES = 1 << 30;

export function encodeFrame(kind: FrameKind, header: unknown, floats: readonly Float32Array[] = []): Buffer {
  const json = JSON.stringify(header);
  // Trailing spaces (valid JSON) put the floats at a multiple of 4 in the body, so a reader can
  // view them in place instead of copying.
  const pad = (4 - ((BODY_PREFIX_BYTES + Buffer.byteLength(json)) % 4)) % 4;
  const headerBytes = Buffer.from(json + ' '.repeat(pad), 'utf8');
  const floatBytes = floats.reduce((sum, f) => sum + f.byteLength, 0);
  const bodyLength = BODY_PREFIX_BYTES + headerBytes.length + floatBytes;
  const frame = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + bodyLength);
  frame.writeUInt32LE(bodyLength, 0);
  let at = FRAME_PREFIX_BYTES;
  frame.writeUInt8(kind, at);
  frame.writeUInt32LE(headerBytes.length, at + 1);
  at += BODY_PREFIX_BYTES;
  headerBytes.copy(frame, at);
  at += headerBytes.length;
  for (const f of floats) {
    frame.set(new Uint8Array(f.buffer, f.byteOffset, f.byteLength), at);
    at += f.byteLength;
  }
  frame.writeUInt32LE(crc32(frame.subarray(FRAME_PREFIX_BYTES)), 4);
  return frame;
}

export interface ReadFramesResult {
  /** Bytes from the start of the file up to the end of the last valid frame. */
  validBytes: number;
  /** Bytes after the last valid frame (a torn or corrupt tail). */
  discardedBytes: number;
}

/**
 * Calls `onFrame` with each valid frame and its position in the file, in order; stops at the
 * first invalid frame, or after a frame for which `onFrame` returns false.
 */
export async function readFrames(path: string, onFrame: (frame: Frame, position: number) => boolean | void): Promise<ReadFramesResult> {
  const file = await open(path, 'r');
  try {
    const size = (await file.stat()).size;
    const prefix = Buffer.alloc(FRAME_PREFIX_BYTES);
    let at = 0;
    while (at + FRAME_PREFIX_BYTES <= size) {
      await readExactly(file, prefix, at);
      const bodyLength = prefix.readUInt32LE(0);
      const checksum = prefix.readUInt32LE(4);
      if (bodyLength < BODY_PREFIX_BYTES || bodyLength > MAX_FRAME_BYTES) break;
      if (at + FRAME_PREFIX_BYTES + bodyLength > size) break;
      const body = Buffer.allocUnsafeSlow(bodyLength); // filled by the read; its own memory, so the floats align
      await readExactly(file, body, at + FRAME_PREFIX_BYTES);
      if (crc32(body) !== checksum) break;
      const frame = decodeBody(body);
      if (frame === undefined) break;
      const more = onFrame(frame, at);
      at += FRAME_PREFIX_BYTES + bodyLength;
      if (more === false) break;
    }
    return { validBytes: at, discardedBytes: size - at };
  } finally {
    await file.close();
  }
}

function decodeBody(body: Buffer): Frame | undefined {
  const kind = body.readUInt8(0) as FrameKind;
  if (!(kind in FrameKind)) return undefined;
  const headerLength = body.readUInt32LE(1);
  const floatsAt = BODY_PREFIX_BYTES + headerLength;
  if (floatsAt > body.length || (body.length - floatsAt) % 4 !== 0) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(body.toString('utf8', BODY_PREFIX_BYTES, floatsAt));
  } catch {
    return undefined;
  }
  const count = (body.length - floatsAt) / 4;
  let floats: Float32Array;
  if ((body.byteOffset + floatsAt) % 4 === 0) {
    floats = new Float32Array(body.buffer, body.byteOffset + floatsAt, count);
  } else {
    floats = new Float32Array(count);
    new Uint8Array(floats.buffer).set(body.subarray(floatsAt));
  }
  return { kind, header, floats, floatsAt: FRAME_PREFIX_BYTES + floatsAt };
}

async function readExactly(file: FileHandle, into: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await file.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file while reading ${into.length} bytes at ${position}`);
    done += bytesRead;
  }
}

async function writeAll(file: FileHandle, data: Buffer): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await file.write(data, done, data.length - done);
    done += bytesWritten;
  }
}

/** fsync a directory so that a rename inside it survives a crash. */
export async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Where the float data of an encoded frame starts, in bytes from the frame's start. */
export function floatsOffsetOf(frame: Buffer): number {
  return FRAME_PREFIX_BYTES + BODY_PREFIX_BYTES + frame.readUInt32LE(FRAME_PREFIX_BYTES + 1);
}

/** Writes `frames` to `path` atomically: to `path.tmp`, fsync, rename, fsync the directory. */
export async function writeFileAtomically(path: string, frames: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<number> {
  const tmp = `${path}.tmp`;
  const file = await open(tmp, 'w');
  let bytes = 0;
  try {
    for await (const frame of frames) {
      await writeAll(file, frame);
      bytes += frame.length;
    }
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  await syncDirectory(dirname(path));
  return bytes;
}

/** An append-only file of frames. */
export class AppendLog {
  private constructor(
    private readonly file: FileHandle,
    private size: number,
    private readonly sync: boolean,
  ) {}

  static async open(path: string, size: number, sync: boolean): Promise<AppendLog> {
    return new AppendLog(await open(path, 'a'), size, sync);
  }

  get bytes(): number {
    return this.size;
  }

  /**
   * Appends the frames back to back (one write for the lot) and, when the log syncs, makes them
   * durable with one fdatasync: a group commit when several mutations are waiting at once.
   */
  async append(...frames: Buffer[]): Promise<void> {
    const data = frames.length === 1 ? frames[0] : Buffer.concat(frames);
    await writeAll(this.file, data);
    this.size += data.length;
    if (this.sync) await this.file.datasync();
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}
