// Real RTSP (GStreamer server on 127.0.0.1): live pattern and a file, in real time.
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locateFfmpeg } from '../../src/streams/ffmpeg/locate.js';
import { runAvvp } from '../helpers/cli.js';
import { childPids, makeTestMedia, meanRgb, rms, tempDir } from '../helpers/media.js';
import { skipRtsp, startRtspServer, type RtspServer } from '../helpers/rtsp.js';
import { eventually, Recorder } from './recorder.js';

const small = { width: 32, height: 24, fps: 8 };

function shippedFfmpeg(): string | undefined {
  try {
    return (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch {
    return undefined;
  }
}

describe.skipIf(skipRtsp())('RTSP: live pattern and file', () => {
  const tmp = tempDir();
  let server: RtspServer;
  beforeAll(async () => {
    // white frames in [1, 2), red in [3, 4); tone in [2, 3)
    const file = await makeTestMedia(tmp.file('clip.mp4'), {
      seconds: 6,
      video: {
        boxes: [
          { from: 1, to: 2, color: 'white' },
          { from: 3, to: 4, color: 'red' },
        ],
      },
      audio: { tones: [{ from: 2, to: 3 }] },
    });
    server = await startRtspServer({ file });
  });
  afterAll(async () => {
    await server?.stop();
    tmp.remove();
  });

  it('live pattern: both modalities, one segment per second, not faster than real time', async () => {
    const started = Date.now();
    const rec = new Recorder(server.url('/pattern'), { ...small, stream: 'pattern' });
    await rec.until('3 segments', () => rec.segments.length >= 3);
    const elapsed = Date.now() - started;
    rec.stop();
    const [, s1, s2] = rec.segments;
    expect(rec.segments.slice(0, 3).map((s) => s.index)).toEqual([0, 1, 2]);
    for (const s of [s1, s2]) {
      expect(s.frames).toHaveLength(8);
      expect(s.audio).toHaveLength(16000);
      expect(rms(s.audio!)).toBeGreaterThan(0.25); // the server's 440 Hz sine at volume 0.5
      expect(s.stream).toBe('pattern');
    }
    // a live source cannot deliver 3 s of media in less than about 2 s of wall time
    expect(elapsed).toBeGreaterThan(2000);
    expect(rec.states().slice(0, 2)).toEqual(['starting', 'up']);
    expect(s2.wallclock - s1.wallclock).toBe(1000);
  });

  it('file over RTSP: per-segment content matches the schedule', async () => {
    const rec = new Recorder(server.url('/file'), small);
    await rec.until('5 segments', () => rec.segments.length >= 5);
    rec.stop();
    const colour = (f: Uint8Array) => {
      const [r, g] = meanRgb(f);
      return r > 200 && g > 200 ? 'W' : r > 200 && g < 60 ? 'R' : r < 30 ? '.' : '?';
    };
    expect(rec.segments.slice(0, 5).map((s) => s.frames!.map(colour).join(''))).toEqual([
      '........',
      'WWWWWWWW',
      '........',
      'RRRRRRRR',
      '........',
    ]);
    expect(rec.segments.slice(0, 5).map((s) => rms(s.audio!) > 0.25)).toEqual([
      false,
      false,
      true,
      false,
      false,
    ]);
    await eventually(async () => (await childPids()).length === 0);
    expect(await childPids()).toEqual([]);
  });

  it.skipIf(!shippedFfmpeg())(
    'the static ffmpeg 4.1 (-stimeout instead of -timeout) reads the live pattern',
    async () => {
      const ffmpeg = await locateFfmpeg({ env: { FFMPEG_PATH: shippedFfmpeg() } });
      expect(ffmpeg.libavformat.major).toBe(58);
      const rec = new Recorder(server.url('/pattern'), { ...small, ffmpeg });
      await rec.until('2 segments', () => rec.segments.length >= 2);
      rec.stop();
      expect(rec.segments[1].frames).toHaveLength(8);
      expect(rms(rec.segments[1].audio!)).toBeGreaterThan(0.25);
    },
  );

  it('avvp probe on a camera URL: per-second lines, then codecs and sizes', async () => {
    const run = await runAvvp(['probe', server.url('/pattern'), '--seconds', '2', '--json']);
    expect(run.code).toBe(0);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.index, l.audio.samples, l.video.frames])).toEqual([
      [0, 16000, 8],
      [1, 16000, 8],
    ]);
    expect(run.stderr).toMatch(/format: rtsp/);
    expect(run.stderr).toMatch(/video: h264 320x240 15 fps/);
    expect(run.stderr).toMatch(/audio: aac 48000 Hz mono/);
  });
});
