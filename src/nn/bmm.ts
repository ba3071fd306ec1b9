/**
 * Batched matmul of small matrices, out[b] = op(a[b]) @ op(b[b]), as one WebAssembly SIMD loop.
 *
 * Why: tfjs-wasm sends a rank-3 BatchMatMul with a batch > 1 to a scalar fallback (XNNPACK only takes batch 1),
 * about 1 GFLOP/s; attention (B·H batches of S×D by D×S) spent ~65 ms of a ~165 ms training step of the default
 * model there. This kernel runs the same products with f32x4 multiply-adds, and takes the transposes of a
 * gradient while it copies the operands in, so no Transpose kernel runs either.
 *
 * The module is written out below byte by byte (no toolchain at build or install time): one function
 *   bmm(batch, M, K, N, aPtr, bPtr, outPtr, tmpPtr)
 * over row-major f32 buffers in its own memory, a [batch, M, K], b [batch, K, N], out [batch, M, N], tmp [N]:
 *   for each batch, row i: out[i, :] = 0; for each block of 48 k's: tmp = 0; for each k: tmp += a[i, k] · b[k, :];
 *   out[i, :] += tmp   (4 columns per instruction; products and sums rounded exactly as tfjs-wasm's loop does, so
 *   training runs reproduce bit for bit across the switch).
 * When 4 ∤ N the last 4 columns of a row run over into the next row (of b: read, of out: written); those lanes
 * only land in out's next row, which is zeroed before it is computed, and the buffers keep 4 floats of slack.
 */
import { tf } from './tf.ts';

// ---------------------------------------------------------------------------------------------------------------
// a few opcodes of the WebAssembly binary format (core spec §5.4, SIMD proposal as merged)

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
};
const I32 = 0x7f;
const V128 = 0x7b;
const op = {
  get: (l: number) => [0x20, l],
  set: (l: number) => [0x21, l],
  i32: (n: number) => [0x41, ...sleb(n)],
  add: [0x6a],
  mul: [0x6c],
  and: [0x71],
  ltU: [0x49],
  gtU: [0x4b],
  select: [0x1b],
  loop: [0x03, 0x40],
  brIf: (depth: number) => [0x0d, depth],
  end: [0x0b],
  f32Load: [0x2a, 0x02, 0x00],
  v128Load: [0xfd, 0x00, 0x04, 0x00],
  v128Store: [0xfd, 0x0b, 0x04, 0x00],
  f32x4Splat: [0xfd, 0x13],
  f32x4Add: [0xfd, ...uleb(0xe4)],
  f32x4Mul: [0xfd, ...uleb(0xe6)],
};
/** `for (; local < limit; local += step) body`, with local set to `from` first (the body runs at least once). */
const forLoop = (local: number, from: number[], limit: number[], step: number[], body: number[]) => [
  ...from,
  ...op.set(local),
  ...op.loop,
  ...body,
  ...op.get(local),
  ...step,
  ...op.add,
  ...op.set(local),
  ...op.get(local),
  ...limit,
  ...op.ltU,
  ...op.brIf(0),
  ...op.end,
];
/** tfjs-wasm's slow BatchMatMul sums k in blocks of 48 (kBlockSize), each from zero; we keep its rounding */
const BLOCK = 48;
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];

export function bmmModuleBytes(): Uint8Array<ArrayBuffer> {
  // params 0..7: batch, M, K, N, aPtr, bPtr, outPtr, tmpPtr; i32 locals 8..: bi, i, k, j, aP, bRow, oRow, bBase,
  // rowBytes, chunkBytes, kStart, kEnd; v128 locals: av = a[i, k] in all four lanes, zero (never set)
  const [batch, M, K, N, aPtr, bPtr, outPtr, tmp] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [bi, i, k, j, aP, bRow, oRow, bBase, rowBytes, chunkBytes, kStart, kEnd] = [
    8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
  ];
  const [av, zero] = [20, 21];
  const at = (base: number) => [...op.get(base), ...op.get(j), ...op.add];
  const overChunks = (body: number[]) => forLoop(j, op.i32(0), op.get(chunkBytes), op.i32(16), body);
  // tmp[j:j+4] += av · b[k, j:j+4]
  const multiplyAdd = [
    ...at(tmp),
    ...at(tmp),
    ...op.v128Load,
    ...op.get(av),
    ...at(bRow),
    ...op.v128Load,
    ...op.f32x4Mul,
    ...op.f32x4Add,
    ...op.v128Store,
  ];
  const zeroAt = (base: number) => [...at(base), ...op.get(zero), ...op.v128Store];
  // out[i, j:j+4] += tmp[j:j+4]
  const addTmp = [
    ...at(oRow),
    ...at(oRow),
    ...op.v128Load,
    ...at(tmp),
    ...op.v128Load,
    ...op.f32x4Add,
    ...op.v128Store,
  ];
  const overK = [
    ...op.get(aP),
    ...op.f32Load,
    ...op.f32x4Splat,
    ...op.set(av),
    ...overChunks(multiplyAdd),
    ...op.get(aP),
    ...op.i32(4),
    ...op.add,
    ...op.set(aP),
    ...op.get(bRow),
    ...op.get(rowBytes),
    ...op.add,
    ...op.set(bRow),
  ];
  // one block of at most BLOCK k's, summed from zero, then added to the row (tfjs-wasm's blocking, so sums match)
  const block = [
    ...overChunks(zeroAt(tmp)),
    // kEnd = min(kStart + BLOCK, K)
    ...op.get(K),
    ...op.get(kStart),
    ...op.i32(BLOCK),
    ...op.add,
    ...op.get(kStart),
    ...op.i32(BLOCK),
    ...op.add,
    ...op.get(K),
    ...op.gtU,
    ...op.select,
    ...op.set(kEnd),
    ...forLoop(k, op.get(kStart), op.get(kEnd), op.i32(1), overK),
    ...overChunks(addTmp),
    ...op.get(kEnd),
    ...op.set(kStart),
  ];
  const overI = [
    ...overChunks(zeroAt(oRow)),
    ...op.get(bBase),
    ...op.set(bRow),
    ...op.i32(0),
    ...op.set(kStart),
    ...op.loop,
    ...block,
    ...op.get(kStart),
    ...op.get(K),
    ...op.ltU,
    ...op.brIf(0),
    ...op.end,
    ...op.get(oRow),
    ...op.get(rowBytes),
    ...op.add,
    ...op.set(oRow),
  ];
  const overBatch = [
    ...forLoop(i, op.i32(0), op.get(M), op.i32(1), overI),
    // bBase += K · rowBytes
    ...op.get(bBase),
    ...op.get(K),
    ...op.get(rowBytes),
    ...op.mul,
    ...op.add,
    ...op.set(bBase),
  ];
  const body = [
    ...op.get(N),
    ...op.i32(4),
    ...op.mul,
    ...op.set(rowBytes),
    // chunkBytes = 16 · ceil(N / 4) = (rowBytes + 12) & ~15
    ...op.get(rowBytes),
    ...op.i32(12),
    ...op.add,
    ...op.i32(-16),
    ...op.and,
    ...op.set(chunkBytes),
    ...op.get(aPtr),
    ...op.set(aP),
    ...op.get(bPtr),
    ...op.set(bBase),
    ...op.get(outPtr),
    ...op.set(oRow),
    ...forLoop(bi, op.i32(0), op.get(batch), op.i32(1), overBatch),
    ...op.end,
  ];
  const locals = vec([
    [12, I32],
    [2, V128],
  ]);
  const code = [...locals, ...body];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // \0asm, version 1
    ...section(1, vec([[0x60, ...vec(Array.from({ length: 8 }, () => [I32])), 0x00]])), // type: (8 × i32) → ()
    ...section(3, vec([[0x00]])), // function 0 has type 0
    ...section(5, vec([[0x00, 0x01]])), // memory 0: min 1 page, no max
    ...section(
      7,
      vec([
        [...name('bmm'), 0x00, 0x00],
        [...name('memory'), 0x02, 0x00],
      ]),
    ), // exports: func 0, memory 0
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ];
  return Uint8Array.from(bytes);
}

// ---------------------------------------------------------------------------------------------------------------
// the JS side: copy operands in (transposing on the way), run, copy the result out

interface BmmKernel {
  bmm: (
    batch: number,
    m: number,
    k: number,
    n: number,
    aPtr: number,
    bPtr: number,
    outPtr: number,
    tmpPtr: number,
  ) => void;
  memory: WebAssembly.Memory;
}
let kernel: BmmKernel | null = null;

function getKernel(): BmmKernel {
  if (!kernel) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bmmModuleBytes()), {});
    kernel = instance.exports as unknown as BmmKernel;
  }
  return kernel;
}

const PAGE = 65536;

/** dst[off + (t·cols + c)·rows + r] = src[(t·rows + r)·cols + c]: each of `batch` [rows, cols] matrices transposed */
function transposeInto(dst: Float32Array, off: number, src: Float32Array, batch: number, rows: number, cols: number) {
  for (let t = 0; t < batch; t++) {
    const s0 = t * rows * cols;
    const d0 = off + s0;
    for (let r = 0; r < rows; r++) {
      const sr = s0 + r * cols;
      for (let c = 0; c < cols; c++) dst[d0 + c * rows + r] = src[sr + c] as number;
    }
  }
}
const align4 = (n: number) => Math.ceil(n / 4) * 4;

/**
 * op(a) @ op(b) for rank-3 tensors with the same batch, op = swap of the last two axes when its flag is set
 * (tf.matMul's transposeA / transposeB). Not differentiable by itself: `mm` in vlm.ts wraps it with its gradient.
 * a [batch, M, K] (or [batch, K, M] transposed), b [batch, K, N] (or [batch, N, K]) → [batch, M, N]
 */
export function batchMatMulSimd(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor3D {
  if (a.rank !== 3 || b.rank !== 3) throw new Error(`batchMatMulSimd: rank-3 inputs, got ${a.rank} and ${b.rank}`);
  const [batch, a1, a2] = a.shape as [number, number, number];
  const [bBatch, b1, b2] = b.shape as [number, number, number];
  const [M, K] = transposeA ? [a2, a1] : [a1, a2];
  const [Kb, N] = transposeB ? [b2, b1] : [b1, b2];
  if (batch !== bBatch || K !== Kb)
    throw new Error(
      `batchMatMulSimd: shapes ${a.shape} and ${b.shape} do not multiply (transposes ${transposeA}, ${transposeB})`,
    );
  if (batch * M * N === 0) return tf.zeros([batch, M, N]);
  // float offsets in the kernel's memory: 16-byte aligned, 4 floats of slack after b and out (see the header)
  const aOff = 0;
  const bOff = align4(aOff + batch * M * K);
  const oOff = align4(bOff + batch * K * N + 4);
  const tOff = align4(oOff + batch * M * N + 4);
  const end = tOff + align4(N) + 4;
  const k = getKernel();
  const need = end * 4 - k.memory.buffer.byteLength;
  if (need > 0) k.memory.grow(Math.ceil(need / PAGE));
  const heap = new Float32Array(k.memory.buffer);
  const av = a.dataSync() as Float32Array;
  const bv = b.dataSync() as Float32Array;
  if (!transposeA) heap.set(av, aOff);
  else transposeInto(heap, aOff, av, batch, K, M);
  if (!transposeB) heap.set(bv, bOff);
  else transposeInto(heap, bOff, bv, batch, N, K);
  k.bmm(batch, M, K, N, aOff * 4, bOff * 4, oOff * 4, tOff * 4);
  const out = heap.slice(oOff, oOff + batch * M * N);
  return tf.tensor3d(out, [batch, M, N]);
}
