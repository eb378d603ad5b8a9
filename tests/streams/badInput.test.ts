// Bad input gets a clear error (or a documented recovery), never a hang.
import { writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromMedia, MediaSourceError, type MediaOptions } from '../../src/streams/fromMedia.js';
import type { Segment, StreamStatus } from '../../src/types.js';
import { ffmpeg, makeTestMedia, meanRgb, rms, tempDir } from '../helpers/media.js';

const small: MediaOptions = { width: 32, height: 24, fps: 8 };
const collect = (source: string, options: MediaOptions = {}) =>
  lastValueFrom(fromMedia(source, { ...small, ...options }).pipe(toArray()));

/** Runs a source to its end; returns what arrived and the error it ended with. */
async function outcome(source: string, options: MediaOptions = {}) {
  const segments: Segment[] = [];
  const statuses: StreamStatus[] = [];
  const error = await new Promise<Error | null>((resolve) =>
    fromMedia(source, { ...small, ...options, onStatus: (s) => statuses.push(s) }).subscribe({
      next: (s) => segments.push(s),
      error: resolve,
      complete: () => resolve(null),
    }),
  );
  return { segments, statuses, error };
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

const tmp = tempDir();
afterAll(() => tmp.remove());

describe('bad input', () => {
  it('nonexistent path', async () => {
    const { error } = await outcome(tmp.file('missing.mp4'));
    expect(error).toBeInstanceOf(MediaSourceError);
    expect(error!.message).toMatch(/no such file: '.*missing\.mp4' \(check the path/);
  });

  it('a directory', async () => {
    mkdirSync(tmp.file('dir'));
    await expect(collect(tmp.file('dir'))).rejects.toThrow(/is not a regular file/);
  });

  it('a file that is not media', async () => {
    writeFileSync(tmp.file('notes.mp4'), 'these are not the frames you are looking for\n'.repeat(50));
    const { error } = await outcome(tmp.file('notes.mp4'));
    expect(error!.message).toMatch(/cannot (decode|open) '.*notes\.mp4'/);
    expect(error!.message).toMatch(/Invalid data found when processing input/);
  });

  it('an input with zero duration', async () => {
    const file = tmp.file('zero.wav');
    await ffmpeg([
      '-y',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'anullsrc=r=48000:cl=mono',
      '-t',
      '0',
      file,
    ]);
    const { error, segments } = await outcome(file);
    expect(segments).toEqual([]);
    expect(error!.message).toMatch(/has no media to decode \(zero duration/);
  });

  it('options that cannot work are rejected up front', () => {
    expect(() => fromMedia('x.mp4', { fps: 7.5 })).toThrow(/fps must be an integer/);
    expect(() => fromMedia('x.mp4', { audio: false, video: false })).toThrow(/both disabled/);
    expect(() => fromMedia('x.mp4', { watchdogMs: 0 })).toThrow(/watchdogMs must be a finite number > 0/);
    expect(() => fromMedia('x.mp4', { maxPending: 0 })).toThrow(/maxPending must be an integer >= 1/);
    expect(() => fromMedia('x.mp4', { queueSize: 2.5 })).toThrow(/queueSize must be an integer >= 1/);
    expect(() => fromMedia('x.mp4', { decodeThreads: 0 })).toThrow(/decodeThreads must be an integer >= 1/);
    expect(() => fromMedia('x.mp4', { decodeNice: 20 })).toThrow(
      /decodeNice must be an integer in \[0, 19\]/,
    );
    expect(() => fromMedia('x.mp4', { maxRetries: -1 })).toThrow(
      /maxRetries must be an integer >= 0 or Infinity/,
    );
    expect(() => fromMedia('x.mp4', { tailMinSeconds: 1.5 })).toThrow(/tailMinSeconds must be in \[0, 1\]/);
    expect(() => fromMedia('x.mp4', { backoff: { initialMs: 0 } })).toThrow(/backoff\.initialMs must be/);
    expect(() => fromMedia('x.mp4', { backoff: { maxMs: NaN } })).toThrow(/backoff\.maxMs must be/);
    expect(() => fromMedia('x.mp4', { backoff: { factor: 0.5 } })).toThrow(/backoff\.factor must be/);
    expect(() => fromMedia('x.mp4', { backoff: { jitter: 1 } })).toThrow(
      /backoff\.jitter must be in \[0, 1\)/,
    );
    expect(() => fromMedia('x.mp4', { maxRetries: Infinity, tailMinSeconds: 0, queueSize: 1 })).not.toThrow();
    expect(() => fromMedia('', {})).toThrow(/non-empty string/);
  });

  it('a URL that refuses: live retries with backoff, then gives up with the reason', async () => {
    const url = `rtsp://127.0.0.1:${await freePort()}/cam`;
    const { error, statuses } = await outcome(url, {
      maxRetries: 2,
      backoff: { initialMs: 50, maxMs: 200 },
    });
    expect(error!.message).toMatch(
      /gave up after 3 consecutive attempts without data; last: .*Connection refused/,
    );
    expect(statuses.filter((s) => s.state === 'reconnecting').map((s) => s.reason)).toEqual([
      expect.stringMatching(/^retry 1 in 0\.\d s \(.*Connection refused/),
      expect.stringMatching(/^retry 2 in 0\.\d s/),
    ]);
    expect(statuses[0].state).toBe('starting');
    expect(statuses.at(-1)).toMatchObject({ state: 'down', restarts: 2 });
  });

  describe('a server that accepts and then goes silent', () => {
    let server: Server;
    let base = '';
    beforeAll(async () => {
      const ts = await makeTestMedia(tmp.file('stall.ts'), { seconds: 14 }, { container: 'ts' });
      const bytes = await readFile(ts);
      server = createServer((req, res) => {
        res.writeHead(200, { 'content-type': 'video/mp2t' });
        // /half: the first half of a stream (7 s: more than ffmpeg's 5 s probe), then silence with the connection open; /mute: nothing
        if (req.url === '/half') res.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => {
      server.closeAllConnections();
      server.close();
    });

    it('watchdog: segments decoded so far arrive, then a clear error', async () => {
      const { segments, error } = await outcome(`${base}/half`, { watchdogMs: 1500, ioTimeoutMs: 60_000 });
      expect(segments.length).toBeGreaterThanOrEqual(1);
      expect(error!.message).toMatch(
        /no data from 'http:\/\/127\.0\.0\.1:\d+\/half': no data for 1\.5 s \(watchdog/,
      );
    });

    it('socket timeout: a server that never answers fails after ioTimeoutMs', async () => {
      const { segments, error } = await outcome(`${base}/mute`, {
        startTimeoutMs: 30_000,
        ioTimeoutMs: 1000,
      });
      expect(segments).toEqual([]);
      expect(error).toBeInstanceOf(MediaSourceError);
      expect(error!.message).toMatch(/cannot (decode|open) 'http:\/\/127\.0\.0\.1:\d+\/mute'/);
    });

    it('as a live source it reconnects, reporting down and reconnecting', async () => {
      const { error, statuses } = await outcome(`${base}/mute`, {
        live: true,
        startTimeoutMs: 1000,
        ioTimeoutMs: 60_000,
        maxRetries: 1,
        backoff: { initialMs: 50 },
      });
      const states = statuses.map((s) => s.state);
      expect(states).toEqual(['starting', 'down', 'reconnecting', 'down', 'down']);
      expect(statuses[1].reason).toMatch(/no data within 1\.0 s of starting \(watchdog/);
      expect(error!.message).toMatch(/gave up after 2 consecutive attempts/);
    });
  });

  describe('a stream whose format changes mid-way (concatenated MPEG-TS)', () => {
    const part = (name: string, color: string, sampleRate: number, channels: 1 | 2, offset: number) =>
      ffmpeg([
        '-y',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        `color=c=${color}:s=${color === 'white' ? '320x240' : '160x120'}:r=24:d=2`,
        '-f',
        'lavfi',
        '-i',
        `aevalsrc=exprs='0.5*sin(2*PI*440*t)${channels === 2 ? '|0.5*sin(2*PI*440*t)' : ''}':s=${sampleRate}:d=2`,
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-pix_fmt',
        'yuv420p',
        '-c:a',
        'aac',
        '-output_ts_offset',
        String(offset),
        tmp.file(name),
      ]);
    const concat = async (name: string, parts: string[]) => {
      const bytes = await Promise.all(parts.map((p) => readFile(tmp.file(p))));
      writeFileSync(tmp.file(name), Buffer.concat(bytes));
      return tmp.file(name);
    };
    beforeAll(async () => {
      await Promise.all([
        part('a.ts', 'white', 48000, 2, 0),
        part('b.ts', 'red', 48000, 2, 2),
        part('c.ts', 'red', 22050, 1, 2),
      ]);
    });

    it('resolution change: recovers, output size and alignment unchanged', async () => {
      const segments = await collect(await concat('size-change.ts', ['a.ts', 'b.ts']));
      expect(segments.map((s) => s.index)).toEqual([0, 1, 2, 3]);
      const colour = (f: Uint8Array) => (meanRgb(f)[1] > 200 ? 'white' : meanRgb(f)[1] < 40 ? 'red' : '?');
      expect(segments.map((s) => s.frames!.map(colour).join(''))).toEqual([
        'white'.repeat(8),
        'white'.repeat(8),
        'red'.repeat(8),
        'red'.repeat(8),
      ]);
      for (const s of segments) {
        expect(s.frames!.every((f) => f.length === 32 * 24 * 3)).toBe(true);
        expect(rms(s.audio!)).toBeGreaterThan(0.3);
      }
    });

    it('sample-rate change: a clear error instead of misaligned audio', async () => {
      const { segments, error } = await outcome(await concat('rate-change.ts', ['a.ts', 'c.ts']));
      expect(segments.length).toBeLessThanOrEqual(4);
      expect(error!.message).toMatch(/audio sample rate or channel layout changed mid-stream/);
      expect(error!.message).toMatch(/audio: false/);
    });
  });
});
