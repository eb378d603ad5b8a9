// The fatbin walker and trimmer of scripts/gpu/trim-fatbin.ts on a small synthetic ELF file: the
// containers and entries it finds, the byte ranges it zeroes, and that nothing else moves.
import { describe, expect, it } from 'vitest';
import {
  FATBIN_MAGIC,
  FatbinError,
  KIND_ELF,
  KIND_PTX,
  allMatch,
  cubinKernels,
  findElfSection,
  trimFatbin,
  walkFatbin,
} from '../../scripts/gpu/trim-fatbin.js';

interface EntrySpec {
  kind: number;
  arch: number;
  payload: number; // payload byte count
  fill: number; // byte value of the payload
  headerSize?: number;
  flags?: bigint;
}

function entry(spec: EntrySpec): Buffer {
  const headerSize = spec.headerSize ?? 64;
  const b = Buffer.alloc(headerSize + spec.payload);
  b.writeUInt16LE(spec.kind, 0);
  b.writeUInt16LE(0x0101, 2);
  b.writeUInt32LE(headerSize, 4);
  b.writeBigUInt64LE(BigInt(spec.payload), 8);
  b.writeUInt32LE(spec.payload - 3, 16); // compressed size (payload carries padding)
  b.writeUInt16LE(8, 24); // minor
  b.writeUInt16LE(1, 26); // major
  b.writeUInt32LE(spec.arch, 28);
  b.writeBigUInt64LE(spec.flags ?? 0x11n, 40);
  b.writeBigUInt64LE(BigInt(spec.payload * 4), 56);
  for (let i = headerSize - 64; i > 0; i--) b[64 + i - 1] = 0xee; // extra header bytes (options)
  b.fill(spec.fill, headerSize);
  return b;
}

function container(entries: EntrySpec[]): Buffer {
  const body = Buffer.concat(entries.map(entry));
  const h = Buffer.alloc(16);
  h.writeUInt32LE(FATBIN_MAGIC, 0);
  h.writeUInt16LE(1, 4);
  h.writeUInt16LE(16, 6);
  h.writeBigUInt64LE(BigInt(body.length), 8);
  return Buffer.concat([h, body]);
}

/** A minimal ELF64: header, a few bytes, a .nv_fatbin section, trailing bytes, section headers. */
function elfWith(section: Buffer, name = '.nv_fatbin'): { file: Buffer; start: number } {
  const shstrtab = Buffer.from(`\0.shstrtab\0${name}\0`, 'latin1');
  const start = 64 + 40; // some non-fatbin bytes before the section
  const strAt = start + section.length + 24;
  const shoff = strAt + shstrtab.length + ((8 - ((strAt + shstrtab.length) % 8)) % 8);
  const file = Buffer.alloc(shoff + 3 * 64, 0xab);
  file.fill(0, 0, 64);
  file.writeUInt32BE(0x7f454c46, 0);
  file[4] = 2; // ELF64
  file[5] = 1; // little-endian
  file.writeBigUInt64LE(BigInt(shoff), 0x28);
  file.writeUInt16LE(64, 0x3a);
  file.writeUInt16LE(3, 0x3c);
  file.writeUInt16LE(1, 0x3e);
  section.copy(file, start);
  shstrtab.copy(file, strAt);
  file.fill(0, shoff);
  const sh = (i: number, nameAt: number, offset: number, size: number) => {
    const at = shoff + i * 64;
    file.writeUInt32LE(nameAt, at);
    file.writeUInt32LE(1, at + 4);
    file.writeBigUInt64LE(BigInt(offset), at + 24);
    file.writeBigUInt64LE(BigInt(size), at + 32);
  };
  sh(1, 1, strAt, shstrtab.length);
  sh(2, 11, start, section.length);
  return { file, start };
}

const A = [
  { kind: KIND_ELF, arch: 80, payload: 40, fill: 0x11 },
  { kind: KIND_ELF, arch: 90, payload: 48, fill: 0x22, flags: 0x8011n },
  { kind: KIND_PTX, arch: 80, payload: 24, fill: 0x33 },
  { kind: KIND_ELF, arch: 120, payload: 32, fill: 0x44, headerSize: 112 },
];
const B = [
  { kind: KIND_ELF, arch: 75, payload: 16, fill: 0x55 },
  { kind: KIND_ELF, arch: 86, payload: 16, fill: 0x66 },
];
const C = [
  { kind: KIND_ELF, arch: 86, payload: 24, fill: 0x77 },
  { kind: KIND_ELF, arch: 90, payload: 24, fill: 0x88 },
];

function sample() {
  const pad = Buffer.alloc(8); // zero padding between containers
  const section = Buffer.concat([container(A), pad, container(B), container(C)]);
  const { file, start } = elfWith(section);
  return { file, start, end: start + section.length, sectionLength: section.length };
}

describe('findElfSection', () => {
  it('finds .nv_fatbin by name and returns null for a missing section', () => {
    const { file, start, sectionLength } = sample();
    expect(findElfSection(file, '.nv_fatbin')).toEqual({ offset: start, size: sectionLength });
    expect(findElfSection(file, '.text')).toBeNull();
  });

  it('rejects a file that is not ELF', () => {
    expect(() => findElfSection(Buffer.alloc(128), '.nv_fatbin')).toThrow(FatbinError);
  });
});

describe('walkFatbin', () => {
  it('reads every container and entry with its kind, arch, sizes and offsets', () => {
    const { file, start, end } = sample();
    const cs = walkFatbin(file, start, end);
    expect(cs.map((c) => c.entries.map((e) => `${e.kind}:${e.arch}`))).toEqual([
      ['2:80', '2:90', '1:80', '2:120'],
      ['2:75', '2:86'],
      ['2:86', '2:90'],
    ]);
    const a = cs[0];
    expect(a.offset).toBe(start);
    expect(a.entries[0].offset).toBe(start + 16);
    expect(a.entries[0].payloadOffset).toBe(start + 16 + 64);
    expect(a.entries[1].offset).toBe(start + 16 + 64 + 40);
    expect(a.entries[1].compressed).toBe(true);
    expect(a.entries[1].compressedSize).toBe(45);
    expect(a.entries[1].uncompressedSize).toBe(48 * 4);
    expect(a.entries[0].compressed).toBe(false);
    expect(a.entries[3].headerSize).toBe(112);
    expect(a.end).toBe(a.entries[3].payloadOffset + 32);
    expect(cs[1].offset).toBe(a.end + 8); // the zero padding was skipped
    expect(cs[2].end).toBe(end);
    for (const c of cs) for (const e of c.entries) expect(file[e.payloadOffset]).not.toBe(0);
  });

  it('refuses bytes that are neither padding nor a container, and entries that overrun', () => {
    const { file, start, end } = sample();
    const bad = Buffer.from(file);
    bad.writeUInt32LE(0x12345678, start);
    expect(() => walkFatbin(bad, start, end)).toThrow(/no fatbin container header/);
    const overrun = Buffer.from(file);
    overrun.writeBigUInt64LE(10_000n, start + 16 + 8); // first entry's payload size
    expect(() => walkFatbin(overrun, start, end)).toThrow(/overruns its container/);
  });
});

describe('trimFatbin', () => {
  it('zeroes exactly the payloads of non-kept entries in containers that hold the kept arch', () => {
    const { file, start, end } = sample();
    const before = Buffer.from(file);
    const cs = walkFatbin(file, start, end);
    const report = trimFatbin(file, cs, { keepArch: 90 });

    const [a, b, c] = cs;
    const expected: Array<[number, number]> = [
      [a.entries[0].payloadOffset, a.entries[0].payloadOffset + 40],
      [a.entries[2].payloadOffset, a.entries[2].payloadOffset + 24],
      [a.entries[3].payloadOffset, a.entries[3].payloadOffset + 32],
      [c.entries[0].payloadOffset, c.entries[0].payloadOffset + 24],
    ];
    expect(report.zeroed).toEqual(expected);
    expect(report).toMatchObject({
      containers: 3,
      withoutKeptArch: 1,
      entriesZeroed: 4,
      entriesKept: 4, // two sm_90 entries and container B's two untouched entries
      bytesZeroed: 40 + 24 + 32 + 24,
      bytesKept: 48 + 24 + 16 + 16,
      containersNeutralised: 0,
    });
    expect(file.length).toBe(before.length);
    for (let i = 0; i < file.length; i++) {
      const inZeroed = expected.some(([s, e]) => i >= s && i < e);
      if (inZeroed) expect(file[i], `byte ${i}`).toBe(0);
      else if (file[i] !== before[i]) throw new Error(`byte ${i} outside the zeroed ranges changed`);
    }
    // Container B (no sm_90 entry) and the kept payloads are intact, and the layout reads back the same.
    expect(file.subarray(b.offset, b.end).equals(before.subarray(b.offset, b.end))).toBe(true);
    expect(
      file.subarray(a.entries[1].payloadOffset, a.entries[1].payloadOffset + 48).every((x) => x === 0x22),
    ).toBe(true);
    const again = walkFatbin(file, start, end);
    expect(again).toEqual(cs);
  });

  it('neutralises a chosen container: every payload zeroed and the kept entry re-tagged', () => {
    const { file, start, end } = sample();
    const before = Buffer.from(file);
    const cs = walkFatbin(file, start, end);
    const report = trimFatbin(file, cs, { keepArch: 90, neutralise: (_c, i) => i === 2, neutralArch: 75 });
    const c = cs[2];
    expect(report.containersNeutralised).toBe(1);
    expect(report.zeroed.slice(-2)).toEqual([
      [c.entries[0].payloadOffset, c.entries[0].payloadOffset + 24],
      [c.entries[1].payloadOffset, c.entries[1].payloadOffset + 24],
    ]);
    expect(file.readUInt32LE(c.entries[1].offset + 28)).toBe(75);
    // Apart from the payloads and that one arch field, container C's bytes are unchanged.
    const archAt = c.entries[1].offset + 28;
    for (let i = c.offset; i < c.end; i++) {
      const payload = c.entries.some((e) => i >= e.payloadOffset && i < e.payloadOffset + e.payloadSize);
      if (payload) expect(file[i]).toBe(0);
      else if (i < archAt || i >= archAt + 4) expect(file[i], `byte ${i}`).toBe(before[i]);
    }
    const again = walkFatbin(file, start, end);
    expect(again[2].entries.map((e) => e.arch)).toEqual([86, 75]);
    expect(again[0].entries[1].arch).toBe(90);
  });
});

describe('kernel selection', () => {
  it('lists the .text.<kernel> sections of a cubin', () => {
    const { file } = elfWith(Buffer.from('code'), '.text._Z6kernelPf');
    expect(cubinKernels(file)).toEqual(['_Z6kernelPf']);
  });

  it('neutralises a container only when every kernel (EmptyKernel aside) matches', () => {
    const flash = '_ZN11onnxruntime5flash16flash_fwd_kernelIfEEvv';
    const empty = '_ZN3cub38CUB_300001_SM_900detail11EmptyKernelIvEEvv';
    const matmul = '_ZN11onnxruntime4cuda17_UnaryElementWiseIffEEvv';
    expect(allMatch([flash, empty], [/flash/])).toBe(true);
    expect(allMatch([flash, matmul], [/flash/])).toBe(false);
    expect(allMatch([empty], [/flash/])).toBe(false);
    expect(allMatch([], [/flash/])).toBe(false);
  });
});
