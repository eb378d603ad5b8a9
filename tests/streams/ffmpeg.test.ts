// Locating ffmpeg, version-aware arguments (run for real on both the system ffmpeg 5.1 and the
// static ffmpeg 4.1 from @ffmpeg-installer), and clean shutdown with no zombie.
import { chmodSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { lastValueFrom, Subject, take, toArray } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildDecodeArgs, protocolWhitelist, versionedFlags } from '../../src/streams/ffmpeg/args.js';
import { FfmpegNotFoundError, locateFfmpeg, parseVersionOutput } from '../../src/streams/ffmpeg/locate.js';
import { fromMedia } from '../../src/streams/fromMedia.js';
import { childPids, lavfiSource, meanRgb, pidExists, rms, tempDir } from '../helpers/media.js';
import { eventually } from './recorder.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

function installerPath(): string | undefined {
  try {
    return (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch {
    return undefined;
  }
}
const shipped = installerPath();

describe('locateFfmpeg', () => {
  it('finds ffmpeg on PATH and reads its libavformat version', async () => {
    const found = await locateFfmpeg({ env: { PATH: process.env.PATH } });
    expect(found.origin).toBe('PATH');
    expect(found.libavformat.major).toBeGreaterThanOrEqual(58);
  });

  it('prefers FFMPEG_PATH, and names it when it is wrong', async () => {
    const system = await locateFfmpeg({ env: { PATH: process.env.PATH } });
    const found = await locateFfmpeg({ env: { FFMPEG_PATH: system.path, PATH: '' } });
    expect(found).toMatchObject({ origin: 'FFMPEG_PATH', path: system.path });
    await expect(locateFfmpeg({ env: { FFMPEG_PATH: tmp.file('nope') } })).rejects.toThrow(
      /FFMPEG_PATH is set to '.*nope', which is not an executable file\. Install ffmpeg/,
    );
    const fake = tmp.file('fake-ffmpeg');
    writeFileSync(fake, '#!/bin/sh\necho hello\n');
    chmodSync(fake, 0o755);
    await expect(locateFfmpeg({ env: { FFMPEG_PATH: fake } })).rejects.toThrow(/did not run as ffmpeg/);
  });

  it('falls back to @ffmpeg-installer/ffmpeg, and explains the fix when nothing is found', async () => {
    if (shipped) {
      const found = await locateFfmpeg({ env: { PATH: '' } });
      expect(found).toMatchObject({ origin: '@ffmpeg-installer/ffmpeg', libavformat: { major: 58 } });
    }
    const missing = locateFfmpeg({ env: { PATH: tmp.dir }, installerPath: () => undefined });
    await expect(missing).rejects.toBeInstanceOf(FfmpegNotFoundError);
    await expect(missing).rejects.toThrow(/apt-get install ffmpeg.*FFMPEG_PATH.*@ffmpeg-installer\/ffmpeg/);
  });

  it('parses version output of releases and static git builds', () => {
    const text =
      'ffmpeg version N-47683-g0e8eb07980-static https://x\nlibavformat    58. 24.100 / 58. 24.100\n';
    expect(parseVersionOutput(text)).toEqual({
      version: 'N-47683-g0e8eb07980-static',
      libavformat: { major: 58, minor: 24 },
    });
    expect(() => parseVersionOutput('hello')).toThrow(/does not look like/);
  });
});

describe('version-aware arguments', () => {
  const rtsp = { kind: 'rtsp' as const, target: 'rtsp://h/x', ioTimeoutMs: 2000 };
  const layout = { video: { width: 224, height: 224, fps: 8 }, audioRates: [16000, 48000] };
  it('uses -stimeout / -vsync for 4.x, -timeout / -vsync for 5.0, -timeout / -fps_mode from 5.1', () => {
    expect(versionedFlags({ libavformat: { major: 58, minor: 24 } })).toEqual({
      rtspTimeout: '-stimeout',
      cfr: ['-vsync', 'cfr'],
    });
    expect(versionedFlags({ libavformat: { major: 59, minor: 16 } })).toEqual({
      rtspTimeout: '-timeout',
      cfr: ['-vsync', 'cfr'],
    });
    expect(versionedFlags({ libavformat: { major: 60, minor: 3 } })).toEqual({
      rtspTimeout: '-timeout',
      cfr: ['-fps_mode', 'cfr'],
    });
    const args = buildDecodeArgs(rtsp, layout, { libavformat: { major: 59, minor: 27 } });
    expect(args.join(' ')).toContain('-rtsp_transport tcp -timeout 2000000 -i rtsp://h/x');
    expect(args.filter((a) => a.startsWith('pipe:'))).toEqual(['pipe:1', 'pipe:3', 'pipe:4']);
    expect(args).not.toContain('-threads');
    expect(args.join(' ')).toContain('scale=224:224:flags=bilinear,format=rgb24'); // stretched by default
    const cropped = buildDecodeArgs(
      rtsp,
      { ...layout, video: { ...layout.video!, centreCrop: true } },
      {
        libavformat: { major: 59, minor: 27 },
      },
    );
    expect(cropped.join(' ')).toContain(
      'scale=224:224:force_original_aspect_ratio=increase:flags=bilinear,crop=224:224,format=rgb24',
    );
    // decoder threads are an input option: they must come before -i
    const threaded = buildDecodeArgs({ ...rtsp, threads: 1 }, layout, {
      libavformat: { major: 59, minor: 27 },
    });
    expect(threaded.join(' ')).toMatch(/-threads 1 -rtsp_transport tcp .* -i rtsp:\/\/h\/x/);
  });

  it('limits each input to the protocols its kind needs (-protocol_whitelist before -i)', () => {
    const v = { libavformat: { major: 59, minor: 27 } };
    const layout = { video: null, audioRates: [16000] };
    const wl = (kind: 'file' | 'lavfi' | 'rtsp' | 'http' | 'url', target: string) => {
      const args = buildDecodeArgs({ kind, target }, layout, v);
      const at = args.indexOf('-protocol_whitelist');
      if (at >= 0) expect(at).toBeLessThan(args.indexOf('-i'));
      return at < 0 ? undefined : args[at + 1];
    };
    expect(wl('rtsp', 'rtsp://cam/x')).toBe('tcp,tls,rtp,udp');
    expect(wl('http', 'https://cam/x.m3u8')).toBe('http,https,tcp,tls,crypto');
    expect(wl('file', '/media/clip.mp4')).toBe('file');
    expect(wl('url', 'srt://h:9000')).toBe('srt');
    expect(wl('url', 'rtmp://h/live')).toBe('rtmp,tcp');
    expect(wl('url', 'udp://239.0.0.1:1234')).toBe('udp');
    expect(wl('url', 'gopher://h/x')).toBe('gopher,tcp,udp,tls');
    // lavfi opens no protocol; its filters (movie=) ignore the whitelist: the source policy guards it.
    expect(wl('lavfi', 'testsrc')).toBeUndefined();
    expect(protocolWhitelist({ kind: 'url', target: 'concat:a|b' })).not.toMatch(/\bfile\b/);
  });

  it('a file input cannot chain into other protocols (real ffmpeg)', async () => {
    const t = tempDir('avvp-wl-');
    try {
      // A file playlist whose segment is on the network: the file input may open files only.
      const playlist = t.file('list.m3u8');
      writeFileSync(
        playlist,
        '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nhttp://127.0.0.1:9/seg.ts\n#EXT-X-ENDLIST\n',
      );
      const err = await lastValueFrom(fromMedia(playlist, { width: 16, height: 16 })).catch((e: Error) => e);
      // (ffmpeg's own default for a file playlist is 'file,crypto,data')
      expect((err as Error).message).toMatch(/Protocol 'http' not on whitelist 'file'!/);
    } finally {
      t.remove();
    }
  });

  it.skipIf(!shipped)('decodes correctly with the static ffmpeg 4.1 too', async () => {
    const ffmpeg = await locateFfmpeg({ env: { FFMPEG_PATH: shipped } });
    const source = lavfiSource({
      seconds: 3,
      video: { boxes: [{ from: 1, to: 2, color: 'white' }] },
      audio: { channels: 2, tones: [{ from: 2, to: 3 }] },
    });
    const segments = await lastValueFrom(
      fromMedia(source, { ffmpeg, width: 16, height: 16, sampleRateHi: 48000 }).pipe(toArray()),
    );
    expect(segments.map((s) => s.frames!.map((f) => Math.round(meanRgb(f)[0] / 255)).join(''))).toEqual([
      '00000000',
      '11111111',
      '00000000',
    ]);
    expect(segments.map((s) => [rms(s.audio!) > 0.3, rms(s.audioHi!) > 0.3])).toEqual([
      [false, false],
      [false, false],
      [true, true],
    ]);
  });
});

describe('clean shutdown', () => {
  it('unsubscribing kills ffmpeg and leaves no zombie', async () => {
    const infinite = 'lavfi:color=c=gray:s=64x48:r=25[out0];sine=f=300[out1]';
    const seen = await lastValueFrom(fromMedia(infinite, { width: 16, height: 16 }).pipe(take(3), toArray()));
    expect(seen.map((s) => s.index)).toEqual([0, 1, 2]);
    // take(3) unsubscribed; the kill is asynchronous, reaping follows within moments
    expect(await eventually(async () => (await childPids()).length === 0)).toBe(true);
  });

  it('the exact PID is gone (not a zombie) after unsubscribe while paused by backpressure', async () => {
    const before = new Set(await childPids());
    // never acknowledged: paused after the first segment
    const sub = fromMedia('lavfi:testsrc2=s=320x240:r=30', { consumed: new Subject<void>() }).subscribe();
    let pid: number | undefined;
    await eventually(async () => (pid = (await childPids()).find((p) => !before.has(p))) !== undefined);
    expect(pid).toBeDefined();
    sub.unsubscribe();
    // kill(pid, 0) fails only once the process is reaped: a zombie would still answer
    expect(await eventually(() => !pidExists(pid!))).toBe(true);
  });
});
