// NumPy .npy files: the per-video feature and pseudo-label format of the LLP community.
// Reads versions 1.0, 2.0 and 3.0; writes 1.0 (2.0 when the header is too long for 1.0).
// Decisions (see docs/eval.md, "npy files"):
// - Supported dtypes: float32, float64, int64, int32, uint8, bool. Others are rejected by name.
// - Big-endian data ('>f4', ...) is byte-swapped on read; data is always little-endian in memory.
// - Fortran-order arrays are transposed on read, so callers always get C (row-major) order.
// - The byte count must equal prod(shape) * itemsize exactly: short files are reported as
//   truncated, longer ones as having trailing bytes (both mean a broken or mislabelled file).
import { readFile, writeFile } from 'node:fs/promises';

export type NpyDtype = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';

export type NpyData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export interface NpyArray {
  dtype: NpyDtype;
  /** Row-major (C order) dimensions; [] for a scalar. */
  shape: number[];
  /** The elements in C order. bool is stored as 0/1 in a Uint8Array. */
  data: NpyData;
}

export class NpyError extends Error {}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

type NpyDataConstructor = new (buffer: ArrayBuffer) => NpyData;

interface DtypeInfo {
  dtype: NpyDtype;
  /** The descr numpy writes for it (little-endian). */
  descr: string;
  size: number;
  type: NpyDataConstructor;
}

const DTYPES: DtypeInfo[] = [
  { dtype: 'float32', descr: '<f4', size: 4, type: Float32Array },
  { dtype: 'float64', descr: '<f8', size: 8, type: Float64Array },
  { dtype: 'int64', descr: '<i8', size: 8, type: BigInt64Array },
  { dtype: 'int32', descr: '<i4', size: 4, type: Int32Array },
  { dtype: 'uint8', descr: '|u1', size: 1, type: Uint8Array },
  { dtype: 'bool', descr: '|b1', size: 1, type: Uint8Array },
];

/** By the type code after the byte-order character ('f4', 'b1', ...). */
const BY_TYPE_CODE = new Map(DTYPES.map((d) => [d.descr.slice(1), d]));
const BY_DTYPE = new Map(DTYPES.map((d) => [d.dtype, d]));

/** Parses the bytes of a .npy file. `source` names the file in error messages. */
export function parseNpy(bytes: Uint8Array, source = '<npy>'): NpyArray {
  const fail: (what: string) => never = (what) => {
    throw new NpyError(`${source}: ${what}`);
  };
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) {
    fail('not a .npy file (missing the \\x93NUMPY magic); expected a file written by numpy.save');
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number;
  let headerLength: number;
  if (major === 1) {
    headerStart = 10;
    headerLength = view.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail('truncated header');
    headerStart = 12;
    headerLength = view.getUint32(8, true);
  } else {
    return fail(`unsupported .npy format version ${major}.${bytes[7]} (supported: 1.0, 2.0, 3.0)`);
  }
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) fail(`truncated header (${headerLength} bytes announced)`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, dataStart),
  );
  const { descr, fortranOrder, shape } = parseHeader(header, fail);

  const order = descr[0];
  const info = BY_TYPE_CODE.get(descr.slice(1));
  if (!info || !'<>|'.includes(order) || (order === '|' && info.size > 1)) {
    fail(`unsupported dtype '${descr}' (supported: float32, float64, int64, int32, uint8, bool)`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = count * info.size;
  const available = bytes.length - dataStart;
  if (available < expected) {
    fail(`truncated: shape (${shape.join(', ')}) needs ${expected} data bytes, file has ${available}`);
  }
  if (available > expected) {
    fail(`${available - expected} trailing bytes after the data of shape (${shape.join(', ')})`);
  }
  // Copy into a fresh (aligned) buffer: the file's data offset need not be aligned to the itemsize.
  const copy = new Uint8Array(bytes.subarray(dataStart, dataStart + expected));
  if (order === '>') swapBytes(copy, info.size);
  let data = new info.type(copy.buffer);
  if (fortranOrder && shape.length > 1) data = fortranToC(data, shape);
  return { dtype: info.dtype, shape, data };
}

function parseHeader(
  header: string,
  fail: (what: string) => never,
): { descr: string; fortranOrder: boolean; shape: number[] } {
  const text = header.trim();
  const bad: (why: string) => never = (why) =>
    fail(`bad header (${why}): ${JSON.stringify(text.slice(0, 200))}`);
  if (!text.startsWith('{') || !text.endsWith('}')) bad('not a Python dict literal');
  let rest = text.slice(1, -1);
  const take = (key: string, value: string): string => {
    const re = new RegExp(`(^|,)\\s*'${key}'\\s*:\\s*(${value})\\s*(?=,|$)`);
    const m = re.exec(rest);
    if (!m) return bad(`missing or malformed '${key}'`);
    rest = rest.slice(0, m.index) + (m[1] ?? '') + rest.slice(m.index + m[0].length);
    return m[2];
  };
  const descr = take('descr', "'[^']*'").slice(1, -1);
  const fortranOrder = take('fortran_order', 'True|False') === 'True';
  const tuple = take('shape', '\\([^)]*\\)').slice(1, -1).trim();
  if (rest.replace(/[\s,]/g, '') !== '') bad('unexpected keys');
  const shape =
    tuple === ''
      ? []
      : tuple
          .replace(/,\s*$/, '')
          .split(',')
          .map((s) => s.trim());
  if (shape.some((s) => !/^\d+$/.test(s))) bad('shape must be a tuple of non-negative integers');
  return { descr, fortranOrder, shape: shape.map(Number) };
}

function swapBytes(bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
}

/** Reorders column-major elements (first index fastest) to row-major (last index fastest). */
function fortranToC<T extends NpyData>(data: T, shape: number[]): T {
  const out = data.slice() as T;
  const n = shape.length;
  const index = new Array<number>(n).fill(0);
  // Walk the C-order positions; keep the matching Fortran offset incrementally.
  const fStride = new Array<number>(n);
  fStride[0] = 1;
  for (let d = 1; d < n; d++) fStride[d] = fStride[d - 1] * shape[d - 1];
  let f = 0;
  for (let c = 0; c < data.length; c++) {
    out[c] = data[f];
    for (let d = n - 1; d >= 0; d--) {
      index[d]++;
      f += fStride[d];
      if (index[d] < shape[d]) break;
      f -= fStride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}

/** Serialises an array as a .npy file (little-endian, C order). */
export function formatNpy(array: NpyArray): Uint8Array {
  const { dtype, shape, data } = array;
  const count = shape.reduce((a, b) => a * b, 1);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new NpyError(`shape must be non-negative integers, got (${shape.join(', ')})`);
  }
  if (data.length !== count) {
    throw new NpyError(`shape (${shape.join(', ')}) needs ${count} elements, data has ${data.length}`);
  }
  const info = BY_DTYPE.get(dtype);
  if (!info) throw new NpyError(`unsupported dtype '${dtype}'`);
  if (data.constructor !== info.type) {
    throw new NpyError(`dtype ${dtype} needs a ${info.type.name}, got a ${data.constructor.name}`);
  }
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${info.descr}', 'fortran_order': False, 'shape': ${tuple}, }`;
  // numpy pads the header with spaces and a final newline so the data starts at a multiple of 64.
  const paddedEnd = (prefix: number) => Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const v1 = paddedEnd(10) - 10 <= 0xffff;
  const prefix = v1 ? 10 : 12;
  const padded = paddedEnd(prefix);
  const header = dict.padEnd(padded - prefix - 1, ' ') + '\n';
  const payload = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(padded + payload.length);
  out.set(MAGIC, 0);
  out[6] = v1 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (v1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), prefix);
  out.set(payload, padded);
  return out;
}

export async function readNpy(path: string): Promise<NpyArray> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new NpyError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseNpy(bytes, path);
}

export async function writeNpy(path: string, array: NpyArray): Promise<void> {
  await writeFile(path, formatNpy(array));
}

/** The elements as float32 (int64 converted exactly where representable), e.g. for model input. */
export function toFloat32(array: NpyArray): Float32Array {
  const { data } = array;
  if (data instanceof Float32Array) return data;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  return out;
}
