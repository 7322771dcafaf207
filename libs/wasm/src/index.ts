/**
 * The few pieces of the WebAssembly binary format our hand-assembled SIMD kernels need (the
 * Pillow-exact resampler, the 4-bit index scan): LEB128 integers, the core opcodes they use,
 * instruction helpers and sections. Each kernel keeps its own SIMD opcode table.
 */

/** Core opcodes and value types (WebAssembly 2.0 binary format, §5.4). */
export const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  call: 0x10,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i32Store: 0x36,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32LtU: 0x49,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32Shl: 0x74,
  noResult: 0x40,
  i32: 0x7f,
  v128: 0x7b,
  funcType: 0x60,
  simd: 0xfd,
} as const;

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** Signed LEB128. */
export function sleb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** A SIMD instruction (prefix 0xfd, its opcode, then its immediates). */
export const simd = (op: number, ...immediates: number[]): number[] => [OP.simd, ...uleb(op), ...immediates];
export const get = (local: number): number[] => [OP.localGet, local];
export const set = (local: number): number[] => [OP.localSet, local];
export const i32 = (value: number): number[] => [OP.i32Const, ...sleb(value)];
/** A vector: its length, then its items. */
export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const name = (text: string): number[] => vec([...Buffer.from(text, 'utf8')].map((b) => [b]));
export const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
