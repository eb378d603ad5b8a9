// Builds the ffmpeg command line for one decode run: one input, video as RGB24 on fd 1, mono
// float32 PCM at one or two rates on fd 3 (and fd 4). Version-aware: a few options were renamed
// between ffmpeg 4.x (libavformat 58) and 5.x (libavformat 59).
import type { FfmpegBinary } from './locate.js';

export interface VideoOutput {
  width: number;
  height: number;
  fps: number;
  /** Scale to cover width x height keeping the aspect ratio, then crop the centre (default: stretch). */
  centreCrop?: boolean;
}

/** What a run decodes: the video grid (or null) and the audio rates ([] for no audio). */
export interface DecodeLayout {
  video: VideoOutput | null;
  audioRates: number[];
}

export type InputKind = 'file' | 'lavfi' | 'rtsp' | 'http' | 'url';

export interface InputSpec {
  kind: InputKind;
  /** Path, URL, or lavfi graph (without the `lavfi:` prefix). */
  target: string;
  /** Socket I/O timeout for network inputs. */
  ioTimeoutMs?: number;
  /** Decoder threads (`-threads`); default: ffmpeg's choice (one per core plus one). */
  threads?: number;
  /** Files: start decoding this many seconds in (`-ss` before `-i`: a restart resumes there). */
  seekSeconds?: number;
}

/** File descriptors of the raw outputs, in the order the segmenter uses them. */
export function outputFds(layout: DecodeLayout): { video: number | null; audio: number[] } {
  const video = layout.video ? 1 : null;
  return { video, audio: layout.audioRates.map((_, i) => 3 + i) };
}

interface VersionedFlags {
  /** RTSP socket timeout: `-stimeout` until libavformat 58, `-timeout` from 59 (ffmpeg 5.0). */
  rtspTimeout: string;
  /** Constant-frame-rate output: `-fps_mode cfr` from ffmpeg 5.1 (lavf 59.27), `-vsync cfr` before. */
  cfr: string[];
}

export function versionedFlags(ffmpeg: Pick<FfmpegBinary, 'libavformat'>): VersionedFlags {
  const { major, minor } = ffmpeg.libavformat;
  return {
    rtspTimeout: major >= 59 ? '-timeout' : '-stimeout',
    cfr: major > 59 || (major === 59 && minor >= 27) ? ['-fps_mode', 'cfr'] : ['-vsync', 'cfr'],
  };
}

export function buildDecodeArgs(
  input: InputSpec,
  layout: DecodeLayout,
  ffmpeg: Pick<FfmpegBinary, 'libavformat'>,
): string[] {
  if (!layout.video && layout.audioRates.length === 0) throw new Error('decode layout has no outputs');
  if (layout.audioRates.length > 2) throw new Error('at most two audio rates');
  const flags = versionedFlags(ffmpeg);
  // `info` level prints the input description (codecs, size, rate) that SourceInfo is read from.
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info'];
  // Input options from here: the protocols this input may open, then decoder threads (before -i,
  // -threads sets the decoder's; after it, only encoders').
  const whitelist = protocolWhitelist(input);
  if (whitelist) args.push('-protocol_whitelist', whitelist);
  if (input.threads !== undefined) args.push('-threads', String(input.threads));
  args.push(...inputArgs(input, flags));
  for (const graph of filterGraphs(layout)) args.push('-filter_complex', graph);
  const fds = outputFds(layout);
  if (layout.video) args.push('-map', '[v]', ...flags.cfr, '-f', 'rawvideo', `pipe:${fds.video}`);
  fds.audio.forEach((fd, i) =>
    args.push('-map', `[a${i}]`, '-c:a', 'pcm_f32le', '-f', 'f32le', `pipe:${fd}`),
  );
  return args;
}

function inputArgs(input: InputSpec, flags: VersionedFlags): string[] {
  const timeoutUs = String(Math.round((input.ioTimeoutMs ?? 5000) * 1000));
  switch (input.kind) {
    case 'lavfi':
      return ['-f', 'lavfi', '-i', input.target];
    case 'rtsp':
      return ['-rtsp_transport', 'tcp', flags.rtspTimeout, timeoutUs, '-i', input.target];
    case 'http':
      return ['-rw_timeout', timeoutUs, '-i', input.target];
    case 'file': {
      const seek = input.seekSeconds ? ['-ss', String(input.seekSeconds)] : [];
      return [...seek, '-i', input.target];
    }
    case 'url':
      return ['-i', input.target];
  }
}

/** What each scheme of a `url` input needs besides itself (libsrt opens its own sockets). */
const URL_PROTOCOLS: Record<string, string[]> = {
  srt: ['srt'],
  rtmp: ['rtmp', 'tcp'],
  rtmps: ['rtmps', 'tcp', 'tls'],
  rtmpt: ['rtmpt', 'ffrtmphttp', 'http', 'tcp'],
  rtmpts: ['rtmpts', 'ffrtmphttp', 'https', 'http', 'tcp', 'tls'],
  udp: ['udp'],
  tcp: ['tcp'],
  rtp: ['rtp', 'udp'],
  srtp: ['srtp', 'rtp', 'udp'],
  tls: ['tls', 'tcp'],
  file: ['file'],
};

/**
 * ffmpeg's `-protocol_whitelist` for one input: exactly the protocols its kind opens, so that no
 * source (nor a playlist or redirect it leads to) can chain into file:, concat:, pipe:, subfile:...
 * RTSP over TCP opens tcp (tls for rtsps; the RTP/UDP names cover a server that insists on UDP);
 * HTTP opens tcp and tls, and crypto for AES-128 HLS segments. lavfi opens no protocol, and the
 * whitelist does not bind its filters (movie= opens files itself): lavfi graphs are trusted input
 * only (src/streams/sourcePolicy.ts). undefined: no whitelist.
 */
export function protocolWhitelist(input: Pick<InputSpec, 'kind' | 'target'>): string | undefined {
  switch (input.kind) {
    case 'lavfi':
      return undefined;
    case 'rtsp':
      return 'tcp,tls,rtp,udp';
    case 'http':
      return 'http,https,tcp,tls,crypto';
    case 'file':
      return 'file';
    case 'url': {
      const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(input.target)?.[1]?.toLowerCase() ?? '';
      return (URL_PROTOCOLS[scheme] ?? [scheme, 'tcp', 'udp', 'tls']).filter(Boolean).join(',');
    }
  }
}

/**
 * Video on a constant fps grid starting at 0 (frames duplicated or dropped as needed), audio
 * gap-filled from its timestamps starting at 0, downmixed to mono (exact L/R average; mono
 * passes through), resampled to each rate. Both grids start at 0 with no gaps, so a byte
 * offset is a media time.
 *
 * Video and audio are two separate filter graphs: ffmpeg rebuilds a graph when its input
 * format changes mid-stream, and a rebuilt audio graph restarts `first_pts=0` padding (audio
 * would run ahead). Kept apart, a resolution change rebuilds only the video graph, where
 * `-fps_mode cfr` drops the re-padded frames at the output.
 */
export function filterGraphs(layout: DecodeLayout): string[] {
  const graphs: string[] = [];
  const v = layout.video;
  if (v) {
    const size = `${v.width}:${v.height}`;
    const resize = v.centreCrop
      ? `scale=${size}:force_original_aspect_ratio=increase:flags=bilinear,crop=${size}`
      : `scale=${size}:flags=bilinear`;
    graphs.push(`[0:v:0]fps=${v.fps}:start_time=0,${resize},format=rgb24[v]`);
  }
  const rates = layout.audioRates;
  if (rates.length > 0) {
    const mono = '[0:a:0]aresample=async=1:first_pts=0,pan=mono|c0<c0+c1,aformat=sample_fmts=flt';
    if (rates.length === 1) graphs.push(`${mono},aresample=${rates[0]}[a0]`);
    else {
      const split = `${mono},asplit=${rates.length}${rates.map((_, i) => `[s${i}]`).join('')}`;
      graphs.push([split, ...rates.map((rate, i) => `[s${i}]aresample=${rate}[a${i}]`)].join(';'));
    }
  }
  return graphs;
}
