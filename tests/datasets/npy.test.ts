import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  formatNpy,
  NpyError,
  parseNpy,
  readNpy,
  toFloat32,
  writeNpy,
  type NpyArray,
} from '../../src/datasets/npy.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('npy-');

// Bytes written by numpy 2.4 (np.lib.format.write_array), base64-encoded, e.g.
//   write_array(f, np.array([[1.5, -2, 3], [4, 5, 6.25]], dtype='<f4'))
const NUMPY = {
  f4: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAMA/AAAAwAAAQEAAAIBAAACgQAAAyEA=',
  // np.asfortranarray(np.array([[1, 2, 3], [4, 5, 6]], dtype='>f8'))
  f8FortranBigEndian:
    'k05VTVBZAQB2AHsnZGVzY3InOiAnPmY4JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo/8AAAAAAAAEAQAAAAAAAAQAAAAAAAAABAFAAAAAAAAEAIAAAAAAAAQBgAAAAAAAA=',
  // np.array([[0, 1], [1, 0], [7, -3]], dtype='<i8')
  i8: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAAEAAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAcAAAAAAAAA/f////////8=',
  // np.array([-1, 2, 2147483647], dtype='<i4')
  i4: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAr/////AgAAAP///38=',
  // np.array([0, 255, 7], dtype='u1')
  u1: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoA/wc=',
  // np.array([[True, False], [False, True]])
  b1: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfGIxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAB',
  // np.array(3.5, dtype='<f4')
  scalar:
    'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAGBA',
  // write_array(f, np.array([1, 2], dtype='<i4'), version=(2, 0))
  v2: 'k05VTVBZAgB0AAAAeydkZXNjcic6ICc8aTQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAAAgAAAA==',
  // np.array([1, 2], dtype='<f2')
  f2: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGYyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAPABA',
  // np.asfortranarray(np.arange(24, dtype='<i4').reshape(2, 3, 4))
  i4Fortran3d:
    'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMywgNCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAADAAAAAQAAAAQAAAACAAAABQAAAABAAAADQAAAAUAAAARAAAACQAAABUAAAACAAAADgAAAAYAAAASAAAACgAAABYAAAADAAAADwAAAAcAAAATAAAACwAAABcAAAA=',
};
const bytes = (key: keyof typeof NUMPY) => new Uint8Array(Buffer.from(NUMPY[key], 'base64'));

/** A .npy file with the given header dict and data bytes (version 1.0, no padding rules). */
function handMade(dict: string, data: number[] = [], version = 1): Uint8Array {
  const header = new TextEncoder().encode(dict + '\n');
  const prefix = version === 1 ? 10 : 12;
  const out = new Uint8Array(prefix + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(header, prefix);
  out.set(data, prefix + header.length);
  return out;
}

describe('parseNpy reads numpy-written files', () => {
  it('float32 2-D', () => {
    const a = parseNpy(bytes('f4'));
    expect(a.dtype).toBe('float32');
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data as Float32Array)).toEqual([1.5, -2, 3, 4, 5, 6.25]);
  });

  it('big-endian Fortran-order float64, returned little-endian in C order', () => {
    const a = parseNpy(bytes('f8FortranBigEndian'));
    expect(a.dtype).toBe('float64');
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data as Float64Array)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('Fortran-order 3-D int32 is transposed to C order', () => {
    const a = parseNpy(bytes('i4Fortran3d'));
    expect(a.shape).toEqual([2, 3, 4]);
    expect(Array.from(a.data as Int32Array)).toEqual(Array.from({ length: 24 }, (_, i) => i));
  });

  it('int64, int32, uint8 and bool', () => {
    const i8 = parseNpy(bytes('i8'));
    expect(i8.dtype).toBe('int64');
    expect(i8.shape).toEqual([3, 2]);
    expect(Array.from(i8.data as BigInt64Array)).toEqual([0n, 1n, 1n, 0n, 7n, -3n]);
    expect(Array.from(toFloat32(i8))).toEqual([0, 1, 1, 0, 7, -3]);
    expect(Array.from(parseNpy(bytes('i4')).data as Int32Array)).toEqual([-1, 2, 2147483647]);
    expect(Array.from(parseNpy(bytes('u1')).data as Uint8Array)).toEqual([0, 255, 7]);
    const b = parseNpy(bytes('b1'));
    expect(b.dtype).toBe('bool');
    expect(Array.from(b.data as Uint8Array)).toEqual([1, 0, 0, 1]);
  });

  it('a scalar and a version 2.0 file', () => {
    const s = parseNpy(bytes('scalar'));
    expect(s.shape).toEqual([]);
    expect(Array.from(s.data as Float32Array)).toEqual([3.5]);
    expect(Array.from(parseNpy(bytes('v2')).data as Int32Array)).toEqual([1, 2]);
  });

  it('works on a Buffer view at an odd byte offset', () => {
    const raw = bytes('f4');
    const shifted = Buffer.alloc(raw.length + 1);
    shifted.set(raw, 1);
    const a = parseNpy(shifted.subarray(1));
    expect(Array.from(a.data as Float32Array)).toEqual([1.5, -2, 3, 4, 5, 6.25]);
  });
});

describe('formatNpy', () => {
  it('writes exactly the bytes numpy writes', () => {
    const f4: NpyArray = {
      dtype: 'float32',
      shape: [2, 3],
      data: new Float32Array([1.5, -2, 3, 4, 5, 6.25]),
    };
    expect(Buffer.from(formatNpy(f4)).toString('base64')).toBe(NUMPY.f4);
    const i4: NpyArray = { dtype: 'int32', shape: [3], data: new Int32Array([-1, 2, 2147483647]) };
    expect(Buffer.from(formatNpy(i4)).toString('base64')).toBe(NUMPY.i4);
    const b1: NpyArray = { dtype: 'bool', shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) };
    expect(Buffer.from(formatNpy(b1)).toString('base64')).toBe(NUMPY.b1);
    const scalar: NpyArray = { dtype: 'float32', shape: [], data: new Float32Array([3.5]) };
    expect(Buffer.from(formatNpy(scalar)).toString('base64')).toBe(NUMPY.scalar);
  });

  it('round-trips every dtype, including a subarray view', () => {
    const backing = new Float64Array([9, 0.1, -2.5e300, 7]);
    const arrays: NpyArray[] = [
      { dtype: 'float32', shape: [10, 25], data: Float32Array.from({ length: 250 }, (_, i) => i / 7) },
      { dtype: 'float64', shape: [2], data: backing.subarray(1, 3) },
      { dtype: 'int64', shape: [1, 2], data: new BigInt64Array([-(2n ** 62n), 5n]) },
      { dtype: 'int32', shape: [0, 3], data: new Int32Array(0) },
      { dtype: 'uint8', shape: [2, 1, 2], data: new Uint8Array([1, 2, 3, 4]) },
      { dtype: 'bool', shape: [3], data: new Uint8Array([1, 1, 0]) },
    ];
    for (const a of arrays) {
      const back = parseNpy(formatNpy(a));
      expect(back.dtype).toBe(a.dtype);
      expect(back.shape).toEqual(a.shape);
      expect(Array.from(back.data as ArrayLike<unknown>)).toEqual(Array.from(a.data as ArrayLike<unknown>));
    }
  });

  it('uses a 2.0 header when the shape does not fit in a 1.0 header', () => {
    const shape = [...Array<number>(30000).fill(1)];
    const out = formatNpy({ dtype: 'uint8', shape, data: new Uint8Array([42]) });
    expect(out[6]).toBe(2);
    expect(out.length % 64).toBe(1);
    const back = parseNpy(out);
    expect(back.shape.length).toBe(30000);
    expect(Array.from(back.data as Uint8Array)).toEqual([42]);
  });

  it('rejects data that does not match the shape or dtype', () => {
    expect(() => formatNpy({ dtype: 'float32', shape: [2, 2], data: new Float32Array(3) })).toThrow(
      /shape \(2, 2\) needs 4 elements, data has 3/,
    );
    expect(() => formatNpy({ dtype: 'float32', shape: [2], data: new Float64Array(2) })).toThrow(
      /float32 needs a Float32Array, got a Float64Array/,
    );
    expect(() => formatNpy({ dtype: 'uint8', shape: [-1], data: new Uint8Array(0) })).toThrow(NpyError);
  });
});

describe('parseNpy rejects bad files with a message naming the file', () => {
  const f4 = bytes('f4');

  it('bad magic and too-short files', () => {
    expect(() => parseNpy(new TextEncoder().encode('PK\x03\x04 not numpy'), 'x.npy')).toThrow(
      /x\.npy: not a \.npy file/,
    );
    expect(() => parseNpy(new Uint8Array(0), 'empty.npy')).toThrow(/empty\.npy: not a \.npy file/);
  });

  it('an unsupported version', () => {
    const b = f4.slice();
    b[6] = 9;
    expect(() => parseNpy(b, 'v.npy')).toThrow(/v\.npy: unsupported \.npy format version 9\.0/);
  });

  it('a header longer than the file', () => {
    expect(() => parseNpy(f4.subarray(0, 40), 'h.npy')).toThrow(/h\.npy: truncated header/);
  });

  it('truncated data and trailing bytes', () => {
    expect(() => parseNpy(f4.subarray(0, f4.length - 1), 't.npy')).toThrow(
      /t\.npy: truncated: shape \(2, 3\) needs 24 data bytes, file has 23/,
    );
    const longer = new Uint8Array(f4.length + 4);
    longer.set(f4);
    expect(() => parseNpy(longer, 'l.npy')).toThrow(/l\.npy: 4 trailing bytes/);
  });

  it('malformed headers', () => {
    const cases: [string, RegExp][] = [
      ["'descr': '<f4', 'fortran_order': False, 'shape': (1,)", /not a Python dict literal/],
      ["{'descr': '<f4', 'shape': (1,), }", /missing or malformed 'fortran_order'/],
      ["{'descr': '<f4', 'fortran_order': false, 'shape': (1,), }", /missing or malformed 'fortran_order'/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': [1], }", /missing or malformed 'shape'/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,), }", /shape must be a tuple/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", /unexpected keys/],
    ];
    for (const [dict, message] of cases) {
      expect(() => parseNpy(handMade(dict, [0, 0, 0, 0]), 'bad.npy')).toThrow(message);
    }
  });

  it('unsupported dtypes, named', () => {
    expect(() => parseNpy(bytes('f2'), 'half.npy')).toThrow(/half\.npy: unsupported dtype '<f2'/);
    const structured = "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }";
    expect(() => parseNpy(handMade(structured, [0, 0, 0, 0]))).toThrow(/missing or malformed 'descr'/);
    const objects = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }";
    expect(() => parseNpy(handMade(objects, [0, 0, 0, 0, 0, 0, 0, 0]))).toThrow(/unsupported dtype '\|O'/);
    const noOrder = "{'descr': '|f4', 'fortran_order': False, 'shape': (1,), }";
    expect(() => parseNpy(handMade(noOrder, [0, 0, 0, 0]))).toThrow(/unsupported dtype '\|f4'/);
  });

  it('accepts keys in any order and without the trailing comma', () => {
    const dict = "{'shape': (2,), 'fortran_order': False, 'descr': '|u1'}";
    expect(Array.from(parseNpy(handMade(dict, [3, 4])).data as Uint8Array)).toEqual([3, 4]);
    expect(Array.from(parseNpy(handMade(dict, [5, 6], 2)).data as Uint8Array)).toEqual([5, 6]);
  });
});

describe('readNpy / writeNpy', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tmp();
  });

  it('round-trips through a file', async () => {
    const path = join(dir, 'a.npy');
    await writeNpy(path, { dtype: 'int64', shape: [10, 25], data: new BigInt64Array(250).fill(1n) });
    const back = await readNpy(path);
    expect(back.shape).toEqual([10, 25]);
    expect(toFloat32(back).every((x) => x === 1)).toBe(true);
  });

  it('names a missing file and a broken one', async () => {
    await expect(readNpy(join(dir, 'nope.npy'))).rejects.toThrow(/nope\.npy: cannot read \(ENOENT\)/);
    const broken = join(dir, 'broken.npy');
    await writeFile(broken, 'hello');
    await expect(readNpy(broken)).rejects.toThrow(/broken\.npy: not a \.npy file/);
  });
});
