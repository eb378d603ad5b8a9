// Reads what a source delivers (container, codecs, original size / fps / sample rate) from the
// input description ffmpeg prints at log level info, so no second process (or second RTSP
// connection) is needed to probe it. The format of these lines is stable from ffmpeg 4 to 7.

export interface SourceVideoInfo {
  codec: string;
  width: number;
  height: number;
  /** Nominal frame rate, or null when ffmpeg does not report one. */
  fps: number | null;
}

export interface SourceAudioInfo {
  codec: string;
  sampleRate: number;
  /** Channel layout as ffmpeg names it: 'mono', 'stereo', '5.1(side)', ... */
  channels: string;
}

export interface SourceInfo {
  /** Demuxer name(s), e.g. 'mov,mp4,m4a,3gp,3g2,mj2' or 'rtsp'. */
  format: string;
  /** Container duration in seconds, or null for live / unknown. */
  duration: number | null;
  /** First video stream that is not an attached picture (cover art), or null. */
  video: SourceVideoInfo | null;
  audio: SourceAudioInfo | null;
}

/** Parses the `Input #0, ...` block; null when the lines hold none (the input did not open). */
export function parseSourceInfo(lines: readonly string[]): SourceInfo | null {
  const start = lines.findIndex((l) => /^Input #0, /.test(l));
  if (start < 0) return null;
  const info: SourceInfo = {
    format: /^Input #0, (.*?), from /.exec(lines[start])?.[1] ?? 'unknown',
    duration: null,
    video: null,
    audio: null,
  };
  for (const line of lines.slice(start + 1)) {
    if (!/^\s/.test(line)) break; // the block ends at the next unindented line
    const duration = /Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)/.exec(line);
    if (duration) info.duration = Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]);
    const stream = /Stream #0:\d+.*?: (Video|Audio): ([^\s,]+)(.*)$/.exec(line);
    if (!stream) continue;
    const [, kind, codec, rest] = stream;
    if (kind === 'Video' && !info.video && !/\(attached pic\)/.test(rest)) {
      const size = /, (\d+)x(\d+)/.exec(rest);
      const fps = /, ([\d.]+) fps/.exec(rest) ?? /, ([\d.]+) tbr/.exec(rest);
      info.video = {
        codec,
        width: size ? Number(size[1]) : 0,
        height: size ? Number(size[2]) : 0,
        fps: fps ? Number(fps[1]) : null,
      };
    }
    if (kind === 'Audio' && !info.audio) {
      const audio = /, (\d+) Hz, ([^,]+)/.exec(rest);
      info.audio = {
        codec,
        sampleRate: audio ? Number(audio[1]) : 0,
        channels: audio ? audio[2].trim() : 'unknown',
      };
    }
  }
  return info;
}
