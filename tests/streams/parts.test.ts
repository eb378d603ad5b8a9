// Pure parts: reconnect backoff, the input-description parser, the filter graphs.
import { describe, expect, it } from 'vitest';
import { filterGraphs } from '../../src/streams/ffmpeg/args.js';
import { parseSourceInfo } from '../../src/streams/ffmpeg/sourceInfo.js';
import { backoffDelay, DEFAULT_BACKOFF } from '../../src/streams/live.js';

describe('backoffDelay', () => {
  const o = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };
  it('grows exponentially from initialMs and is capped at maxMs', () => {
    const mid = () => 0.5; // no jitter
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, o, mid))).toEqual([500, 1000, 2000, 4000]);
    expect(backoffDelay(20, o, mid)).toBe(30_000);
  });
  it('spreads by +-jitter and never exceeds the cap', () => {
    expect(backoffDelay(1, o, () => 0)).toBeCloseTo(400, 6);
    expect(backoffDelay(1, o, () => 1)).toBeCloseTo(600, 6);
    expect(backoffDelay(30, o, () => 1)).toBe(30_000);
    expect(DEFAULT_BACKOFF).toEqual(o);
  });
});

describe('parseSourceInfo', () => {
  it('reads format, duration, codecs, size, fps, rate and channels (ffmpeg 5 layout)', () => {
    const lines = [
      "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'clip.mp4':",
      '  Metadata:',
      '    major_brand     : isom',
      '  Duration: 00:01:00.02, start: 0.000000, bitrate: 2843 kb/s',
      '  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 1280x720 [SAR 1:1 DAR 16:9], 2700 kb/s, 30 fps, 30 tbr, 15360 tbn (default)',
      '  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 130 kb/s (default)',
      'Stream mapping:',
      '  Stream #0:0 (h264) -> fps',
    ];
    expect(parseSourceInfo(lines)).toEqual({
      format: 'mov,mp4,m4a,3gp,3g2,mj2',
      duration: 60.02,
      video: { codec: 'h264', width: 1280, height: 720, fps: 30 },
      audio: { codec: 'aac', sampleRate: 48000, channels: 'stereo' },
    });
  });
  it('skips cover art, falls back to tbr (ffmpeg 4 layout), and says null when no input opened', () => {
    const lines = [
      "Input #0, mp3, from 'song.mp3':",
      '  Duration: N/A, start: 0.025057, bitrate: 128 kb/s',
      '    Stream #0:0: Audio: mp3, 44100 Hz, 5.1(side), fltp, 128 kb/s',
      '    Stream #0:1: Video: mjpeg, yuvj420p(pc), 500x500, 90k tbr, 90k tbn, 90k tbc (attached pic)',
      '    Stream #0:2: Video: h264, yuv420p, 640x480, 25 tbr, 25 tbn, 50 tbc',
    ];
    const info = parseSourceInfo(lines)!;
    expect(info.duration).toBeNull();
    expect(info.video).toEqual({ codec: 'h264', width: 640, height: 480, fps: 25 });
    expect(info.audio).toEqual({ codec: 'mp3', sampleRate: 44100, channels: '5.1(side)' });
    expect(parseSourceInfo(['/x.mp4: Invalid data found when processing input'])).toBeNull();
  });
});

describe('filterGraphs', () => {
  it('keeps video and audio in separate graphs and splits audio for a second rate', () => {
    const graphs = filterGraphs({ video: { width: 224, height: 224, fps: 8 }, audioRates: [16000, 48000] });
    expect(graphs).toHaveLength(2);
    expect(graphs[0]).toBe('[0:v:0]fps=8:start_time=0,scale=224:224:flags=bilinear,format=rgb24[v]');
    expect(graphs[1]).toMatch(/^\[0:a:0\]aresample=async=1:first_pts=0,pan=mono\|c0<c0\+c1,/);
    expect(graphs[1]).toMatch(
      /asplit=2\[s0\]\[s1\];\[s0\]aresample=16000\[a0\];\[s1\]aresample=48000\[a1\]$/,
    );
    expect(filterGraphs({ video: null, audioRates: [16000] })).toHaveLength(1);
  });
});
