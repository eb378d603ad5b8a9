// Shrinks a CUDA shared library for one GPU generation without changing its layout: finds the
// `.nv_fatbin` section, walks its fatbin containers and zeroes the payload bytes of every entry
// that is not for the kept architecture (default sm_90, the H100/H200), in containers that also
// hold an entry for it. Headers, sizes and offsets stay as they were, so the file still loads and
// the CUDA driver still picks the kept entry; the zeroed runs compress to almost nothing.
//
// Optionally (--neutralise) it also makes whole containers unselectable: every payload zeroed and
// the kept entry re-tagged with another architecture, so that a kernel from it, if ever launched,
// fails with "no kernel image is available for execution on the device" instead of running.
// Containers are picked by the kernel names of their kept entry (decompressed with the zstd CLI),
// only when every kernel name matches one of the patterns.
//
// Usage:
//   tsx scripts/gpu/trim-fatbin.ts IN.so OUT.so [--arch 90] [--list]
//       [--neutralise] [--neutralise-pattern REGEX]... [--neutral-arch 75]
//
// Layout handled (little-endian, as written by nvcc/fatbinary; offsets relative to the header):
//   container header, 16 bytes: u32 magic 0xBA55ED50, u16 version, u16 header size, u64 size of
//     the entries that follow the header.
//   entry header (header size is in it, 64 or more bytes): u16 kind (1 PTX, 2 ELF cubin),
//     u16 version, u32 header size, u64 payload size, u32 compressed size, u32 options offset,
//     u16 minor, u16 major, u32 sm arch, u32 name offset, u32 name length, u64 flags, u64 zero,
//     u64 uncompressed size. Flags 0x2000 (older LZ) or 0x8000 (zstd) mark a compressed payload.
//   The payload follows the entry header; the next entry follows the payload.

import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

export const FATBIN_MAGIC = 0xba55ed50;
export const KIND_PTX = 1;
export const KIND_ELF = 2;
export const FLAG_COMPRESSED_LZ = 0x2000n;
export const FLAG_COMPRESSED_ZSTD = 0x8000n;
const ENTRY_ARCH_FIELD = 28;
const MIN_ENTRY_HEADER = 64;
const CONTAINER_HEADER = 16;

export interface FatbinEntry {
  /** Offset of the entry header in the buffer. */
  offset: number;
  kind: number;
  headerSize: number;
  payloadOffset: number;
  /** Bytes reserved for the payload (the size field; may include padding). */
  payloadSize: number;
  compressedSize: number;
  arch: number;
  flags: bigint;
  compressed: boolean;
  uncompressedSize: number;
}

export interface FatbinContainer {
  offset: number;
  version: number;
  headerSize: number;
  /** End of the container (offset + header size + size field). */
  end: number;
  entries: FatbinEntry[];
}

export class FatbinError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FatbinError';
  }
}

function u64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FatbinError(`64-bit field at ${at} is too large: ${v}`);
  return Number(v);
}

/** Offset and size of a named section of a little-endian ELF64 file, or null when it has none. */
export function findElfSection(buf: Buffer, name: string): { offset: number; size: number } | null {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new FatbinError('not an ELF file');
  if (buf[4] !== 2 || buf[5] !== 1) throw new FatbinError('only little-endian ELF64 files are supported');
  const shoff = u64(buf, 0x28);
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  if (shoff === 0 || shnum === 0) return null;
  if (shoff + shnum * shentsize > buf.length) throw new FatbinError('section header table lies past the end');
  const header = (i: number) => {
    const at = shoff + i * shentsize;
    return { name: buf.readUInt32LE(at), offset: u64(buf, at + 24), size: u64(buf, at + 32) };
  };
  const strtab = header(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const h = header(i);
    const start = strtab.offset + h.name;
    const stop = buf.indexOf(0, start);
    if (stop < 0) continue;
    if (buf.toString('latin1', start, stop) === name) {
      if (h.offset + h.size > buf.length)
        throw new FatbinError(`section ${name} lies past the end of the file`);
      return { offset: h.offset, size: h.size };
    }
  }
  return null;
}

/**
 * Walks the fatbin containers in buf[start, end). Zero padding between containers is skipped;
 * anything else that is not a container header is an error, as is an entry that overruns its
 * container.
 */
export function walkFatbin(buf: Buffer, start: number, end: number): FatbinContainer[] {
  const containers: FatbinContainer[] = [];
  let p = start;
  while (p < end) {
    if (buf[p] === 0) {
      p++;
      continue;
    }
    if (p + CONTAINER_HEADER > end || buf.readUInt32LE(p) !== FATBIN_MAGIC) {
      throw new FatbinError(`no fatbin container header at offset ${p} (0x${p.toString(16)})`);
    }
    const version = buf.readUInt16LE(p + 4);
    const headerSize = buf.readUInt16LE(p + 6);
    if (headerSize < CONTAINER_HEADER) throw new FatbinError(`container at ${p}: header size ${headerSize}`);
    const cend = p + headerSize + u64(buf, p + 8);
    if (cend > end) throw new FatbinError(`container at ${p} runs past the end of the section`);
    const entries: FatbinEntry[] = [];
    let q = p + headerSize;
    while (q < cend) {
      if (q + MIN_ENTRY_HEADER > cend)
        throw new FatbinError(`entry at ${q} is cut off by its container's end`);
      const headerSizeE = buf.readUInt32LE(q + 4);
      const payloadSize = u64(buf, q + 8);
      if (headerSizeE < MIN_ENTRY_HEADER) throw new FatbinError(`entry at ${q}: header size ${headerSizeE}`);
      const payloadOffset = q + headerSizeE;
      if (payloadOffset + payloadSize > cend) throw new FatbinError(`entry at ${q} overruns its container`);
      const flags = buf.readBigUInt64LE(q + 40);
      entries.push({
        offset: q,
        kind: buf.readUInt16LE(q),
        headerSize: headerSizeE,
        payloadOffset,
        payloadSize,
        compressedSize: buf.readUInt32LE(q + 16),
        arch: buf.readUInt32LE(q + ENTRY_ARCH_FIELD),
        flags,
        compressed: (flags & (FLAG_COMPRESSED_LZ | FLAG_COMPRESSED_ZSTD)) !== 0n,
        uncompressedSize: u64(buf, q + 56),
      });
      q = payloadOffset + payloadSize;
    }
    containers.push({ offset: p, version, headerSize, end: cend, entries });
    p = cend;
  }
  return containers;
}

export interface TrimOptions {
  /** SM architecture to keep, e.g. 90 for sm_90. */
  keepArch: number;
  /** Containers to make unselectable (all payloads zeroed, kept entry re-tagged). */
  neutralise?: (container: FatbinContainer, index: number) => boolean;
  /** Architecture the kept entry of a neutralised container is re-tagged with (default 75). */
  neutralArch?: number;
}

export interface TrimReport {
  containers: number;
  /** Containers with no entry for the kept arch: left untouched. */
  withoutKeptArch: number;
  entriesKept: number;
  entriesZeroed: number;
  containersNeutralised: number;
  bytesKept: number;
  bytesZeroed: number;
  /** [start, end) byte ranges that were zeroed, in order. */
  zeroed: Array<[number, number]>;
}

/** Zeroes, in place, the payloads described in the module comment and reports what it did. */
export function trimFatbin(buf: Buffer, containers: FatbinContainer[], opts: TrimOptions): TrimReport {
  const neutralArch = opts.neutralArch ?? 75;
  if (neutralArch === opts.keepArch) throw new FatbinError('the neutral arch must differ from the kept arch');
  const report: TrimReport = {
    containers: containers.length,
    withoutKeptArch: 0,
    entriesKept: 0,
    entriesZeroed: 0,
    containersNeutralised: 0,
    bytesKept: 0,
    bytesZeroed: 0,
    zeroed: [],
  };
  const zero = (e: FatbinEntry) => {
    buf.fill(0, e.payloadOffset, e.payloadOffset + e.payloadSize);
    report.entriesZeroed++;
    report.bytesZeroed += e.payloadSize;
    report.zeroed.push([e.payloadOffset, e.payloadOffset + e.payloadSize]);
  };
  containers.forEach((c, index) => {
    const hasKept = c.entries.some((e) => e.arch === opts.keepArch);
    if (!hasKept) {
      report.withoutKeptArch++;
      for (const e of c.entries) {
        report.entriesKept++;
        report.bytesKept += e.payloadSize;
      }
      return;
    }
    if (opts.neutralise?.(c, index)) {
      report.containersNeutralised++;
      for (const e of c.entries) {
        zero(e);
        if (e.arch === opts.keepArch) {
          buf.writeUInt32LE(neutralArch, e.offset + ENTRY_ARCH_FIELD);
        }
      }
      return;
    }
    for (const e of c.entries) {
      if (e.arch === opts.keepArch) {
        report.entriesKept++;
        report.bytesKept += e.payloadSize;
      } else {
        zero(e);
      }
    }
  });
  return report;
}

/** The decompressed payload of an entry: zstd through the zstd CLI; null when not decodable here. */
export function entryPayload(buf: Buffer, e: FatbinEntry): Buffer | null {
  const raw = buf.subarray(e.payloadOffset, e.payloadOffset + (e.compressedSize || e.payloadSize));
  if (!e.compressed) return Buffer.from(raw);
  if ((e.flags & FLAG_COMPRESSED_ZSTD) === 0n || raw.readUInt32LE(0) !== 0xfd2fb528) return null;
  const r = spawnSync('zstd', ['-d', '-c', '-q'], { input: raw, maxBuffer: 1 << 30 });
  if (r.error) throw new FatbinError(`zstd could not run (${r.error.message}); install zstd`);
  if (r.status !== 0) throw new FatbinError(`zstd failed on the entry at ${e.offset}: ${r.stderr}`);
  return r.stdout;
}

/** Kernel names of an ELF cubin: its `.text.<name>` sections. */
export function cubinKernels(elf: Buffer): string[] {
  const names: string[] = [];
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return names;
  const shoff = u64(elf, 0x28);
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  if (shoff + shnum * shentsize > elf.length) return names;
  const strOffset = u64(elf, shoff + shstrndx * shentsize + 24);
  for (let i = 0; i < shnum; i++) {
    const start = strOffset + elf.readUInt32LE(shoff + i * shentsize);
    const stop = elf.indexOf(0, start);
    if (stop < 0) continue;
    const name = elf.toString('latin1', start, stop);
    if (name.startsWith('.text.')) names.push(name.slice(6));
  }
  return names;
}

/**
 * Kernel-name patterns of ONNX Runtime CUDA kernels that serve only LLM-style contrib operators in
 * half precision or quantized weights: flash attention (fp16/bf16 only), the TensorRT-LLM derived
 * `onnxruntime::llm` kernels, mixture-of-experts, mixed-precision and n-bit weight GEMMs, paged,
 * group-query and decoder attention, beam search and sampling. The float32 memory-efficient
 * attention and every standard ONNX operator kernel (MatMul, Softmax, LayerNorm, ...) match none.
 * A container is neutralised only when every kernel in it matches (cub's EmptyKernel aside).
 */
export const LLM_KERNEL_PATTERNS: RegExp[] = [
  /onnxruntime5flash|flash_fwd|flash_bwd/,
  /onnxruntime3llm/,
  /MoE|Moe[A-Z]|moe_|_moe/,
  /fpA_intB/,
  /xqa/i,
  /[Pp]aged/,
  /GroupQuery|group_query/,
  /DecoderMasked|masked_multihead/,
  /LeanAttention|lean_attention/,
  /BeamSearch|beam_search|GreedySearch|[Ss]ampling|NoSpeechProbs|Whisper/,
  /MatMulNBits|BlkQ4|Dequantize[48]Bits|[Nn]bits/,
  /SparseAttention|sparse_attention|BlockSparse/,
  /QOrdered/,
  /GemmFpAIntB|MatMulFloat4|MatMulBlockScaledFp8|GroupProblemShape|CollectiveMmaInterleaved/,
  /LinearAttention/,
];

/** Kernels every container may hold (cub's placeholder); they decide nothing. */
export const IGNORED_KERNELS = /detail11EmptyKernel/;

export function allMatch(kernels: string[], patterns: RegExp[]): boolean {
  const real = kernels.filter((k) => !IGNORED_KERNELS.test(k));
  return real.length > 0 && real.every((k) => patterns.some((p) => p.test(k)));
}

function human(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

interface CliArgs {
  input: string;
  output?: string;
  keepArch: number;
  list: boolean;
  neutralise: boolean;
  patterns: RegExp[];
  neutralArch: number;
}

function parseArgs(argv: string[]): CliArgs {
  const files: string[] = [];
  const args: CliArgs = {
    input: '',
    keepArch: 90,
    list: false,
    neutralise: false,
    patterns: [],
    neutralArch: 75,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new FatbinError(`${a} needs a value`);
      return v;
    };
    if (a === '--arch') args.keepArch = Number(value().replace(/^sm_/, ''));
    else if (a === '--list') args.list = true;
    else if (a === '--neutralise') args.neutralise = true;
    else if (a === '--neutralise-pattern') {
      args.neutralise = true;
      args.patterns.push(new RegExp(value()));
    } else if (a === '--neutral-arch') args.neutralArch = Number(value());
    else if (a.startsWith('--')) throw new FatbinError(`unknown option ${a}`);
    else files.push(a);
  }
  if (files.length < 1 || files.length > 2 || (files.length === 1 && !args.list)) {
    throw new FatbinError(
      'usage: trim-fatbin IN.so OUT.so [--arch 90] [--neutralise] [--neutralise-pattern RE]... | IN.so --list',
    );
  }
  if (!Number.isInteger(args.keepArch) || args.keepArch <= 0) throw new FatbinError('--arch must be like 90');
  [args.input, args.output] = files;
  if (args.neutralise && args.patterns.length === 0) args.patterns = LLM_KERNEL_PATTERNS;
  return args;
}

/** Trims IN into OUT; returns the report (also printed through log). */
export async function trimFile(
  input: string,
  output: string | undefined,
  opts: { keepArch: number; list?: boolean; neutralise?: boolean; patterns?: RegExp[]; neutralArch?: number },
  log: (line: string) => void = console.log,
): Promise<TrimReport | null> {
  const buf = await readFile(input);
  const section = findElfSection(buf, '.nv_fatbin');
  if (!section) throw new FatbinError(`${input} has no .nv_fatbin section`);
  const containers = walkFatbin(buf, section.offset, section.offset + section.size);
  log(
    `${input}: .nv_fatbin at 0x${section.offset.toString(16)}, ${human(section.size)}, ` +
      `${containers.length} containers, ${containers.reduce((n, c) => n + c.entries.length, 0)} entries`,
  );
  const kernelsOf = (c: FatbinContainer): string[] | null => {
    const kept = c.entries.find((e) => e.arch === opts.keepArch && e.kind === KIND_ELF);
    if (!kept) return null;
    const elf = entryPayload(buf, kept);
    return elf ? cubinKernels(elf) : null;
  };
  const patterns = opts.patterns?.length ? opts.patterns : LLM_KERNEL_PATTERNS;
  if (opts.list) {
    containers.forEach((c, i) => {
      const archs = c.entries.map((e) => `${e.kind === KIND_PTX ? 'ptx' : 'sm'}_${e.arch}`).join(',');
      const kept = c.entries.find((e) => e.arch === opts.keepArch);
      const kernels = kernelsOf(c) ?? [];
      const llm = allMatch(kernels, patterns) ? ' [llm-only]' : '';
      log(
        `#${i} @0x${c.offset.toString(16)} ${human(c.end - c.offset)} [${archs}] kept ${human(kept?.payloadSize ?? 0)}` +
          ` ${kernels.length} kernels${llm}: ${kernels.slice(0, 3).join(' ')}`,
      );
    });
    if (!output) return null;
  }
  const neutralised: string[] = [];
  const report = trimFatbin(buf, containers, {
    keepArch: opts.keepArch,
    neutralArch: opts.neutralArch,
    neutralise: opts.neutralise
      ? (c, i) => {
          const kernels = kernelsOf(c);
          if (!kernels || !allMatch(kernels, patterns)) return false;
          neutralised.push(`#${i} (${kernels.length} kernels, e.g. ${kernels[0].slice(0, 90)})`);
          return true;
        }
      : undefined,
  });
  for (const line of neutralised) log(`neutralised container ${line}`);
  log(
    `kept sm_${opts.keepArch}: ${report.entriesKept} entries kept (${human(report.bytesKept)}), ` +
      `${report.entriesZeroed} zeroed (${human(report.bytesZeroed)}); ` +
      `${report.containersNeutralised} containers neutralised, ` +
      `${report.withoutKeptArch} without an sm_${opts.keepArch} entry left untouched`,
  );
  if (output) {
    await writeFile(output, buf, { mode: 0o755 });
    log(`wrote ${output} (${buf.length} bytes, same size as the input)`);
  }
  return report;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const a = parseArgs(process.argv.slice(2));
    await trimFile(a.input, a.output, a);
  } catch (e) {
    console.error(`trim-fatbin: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(e instanceof FatbinError ? 2 : 1);
  }
}
