import { MmalignError } from '../util/errors.ts';

/**
 * The safetensors format (huggingface/safetensors), written and read by hand: an 8-byte little-endian header
 * length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}
 * (padded with spaces to a multiple of 8, as the reference writer does), then the raw little-endian data with
 * offsets relative to the end of the header. Only F32 and I32 are needed here.
 */
export type StDtype = 'F32' | 'I32';

export interface StTensor {
  dtype: StDtype;
  shape: number[];
  data: Float32Array | Int32Array;
}

const BYTES: Record<StDtype, number> = { F32: 4, I32: 4 };

export function encodeSafetensors(tensors: ReadonlyMap<string, StTensor>, metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`tensor ${name}: shape ${t.shape} does not match ${t.data.length} values`);
    const bytes = n * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    // typed arrays are little-endian on every platform Node runs on (x64, arm64)
    const src = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    src.copy(out, pos);
    pos += src.length;
  }
  return out;
}

export interface DecodedSafetensors {
  tensors: Map<string, StTensor>;
  metadata: Record<string, string>;
}

export function decodeSafetensors(buf: Uint8Array, file = 'safetensors'): DecodedSafetensors {
  const fail = (msg: string) => new MmalignError('MMALIGN_BAD_CHECKPOINT', `${file}: ${msg}`);
  if (buf.length < 8) throw fail('file shorter than the 8-byte header length');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (8 + n > buf.length) throw fail(`header length ${n} exceeds file size ${buf.length}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, n).toString('utf8'));
  } catch (e) {
    throw fail(`header is not JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + n;
  const dataLen = buf.length - dataStart;
  const tensors = new Map<string, StTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = raw as Record<string, string>;
      continue;
    }
    const info = raw as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    if (info.dtype !== 'F32' && info.dtype !== 'I32') throw fail(`tensor ${name}: unsupported dtype ${info.dtype}`);
    const shape = info.shape ?? [];
    const [begin, end] = info.data_offsets ?? [-1, -1];
    const count = shape.reduce((a, b) => a * b, 1);
    if (begin < 0 || end > dataLen || end - begin !== count * 4) {
      throw fail(
        `tensor ${name}: data_offsets [${begin}, ${end}] do not fit shape [${shape}] in ${dataLen} data bytes`,
      );
    }
    // copy into a fresh, aligned buffer (the file's data may sit at any byte offset)
    const bytes = new Uint8Array(end - begin);
    bytes.set(buf.subarray(dataStart + begin, dataStart + end));
    const data =
      info.dtype === 'F32' ? new Float32Array(bytes.buffer, 0, count) : new Int32Array(bytes.buffer, 0, count);
    tensors.set(name, { dtype: info.dtype, shape, data });
  }
  return { tensors, metadata };
}
