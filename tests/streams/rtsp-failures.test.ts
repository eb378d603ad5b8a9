// Real RTSP failure injection: server killed and restarted, server hung (SIGSTOP), slow consumer.
import { Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { childPids } from '../helpers/media.js';
import { skipRtsp, startRtspServer, type RtspServer } from '../helpers/rtsp.js';
import { eventually, Recorder } from './recorder.js';

const small = { width: 32, height: 24, fps: 8 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skipRtsp())('RTSP: failures and recovery', () => {
  let server: RtspServer | undefined;
  let rec: Recorder | undefined;
  afterEach(async () => {
    rec?.stop();
    await server?.stop();
    await eventually(async () => (await childPids()).length === 0);
    expect(await childPids()).toEqual([]); // every ffmpeg killed and reaped
  });

  it('server killed and restarted: down, reconnecting, up; indices continue with a discontinuity', async () => {
    server = await startRtspServer();
    rec = new Recorder(server.url('/pattern'), { ...small, backoff: { initialMs: 200, maxMs: 1000 } });
    await rec.until('2 segments', () => rec!.segments.length >= 2);
    await server.kill();
    await rec.until('down', () => rec!.states().includes('down'));
    await sleep(800); // a reconnect attempt or two is refused meanwhile
    await server.restart();
    const before = rec.segments.length;
    await rec.until('2 segments after the restart', () => rec!.segments.length >= before + 2);
    const indices = rec.segments.map((s) => s.index);
    expect(indices).toEqual([...indices.keys()]); // 0, 1, 2, ... with no reuse or gap
    const first = rec.segments.findIndex((s) => s.discontinuity);
    expect(first).toBeGreaterThan(0);
    expect(rec.segments.filter((s) => s.discontinuity)).toHaveLength(1);
    expect(rec.segments[first].wallclock - rec.segments[first - 1].wallclock).toBeGreaterThan(1000);
    const states = rec.states();
    expect(states.slice(0, 3)).toEqual(['starting', 'up', 'down']);
    expect(states).toContain('reconnecting');
    expect(states.at(-1)).toBe('up');
    expect(rec.statuses.at(-1)!.restarts).toBeGreaterThanOrEqual(1);
  });

  it('server hung (SIGSTOP): the watchdog kills ffmpeg, and the stream recovers after SIGCONT', async () => {
    server = await startRtspServer();
    rec = new Recorder(server.url('/pattern'), {
      ...small,
      watchdogMs: 1500,
      ioTimeoutMs: 30_000, // longer than the watchdog: the watchdog must be what fires
      backoff: { initialMs: 200, maxMs: 500 },
    });
    await rec.until('1 segment', () => rec!.segments.length >= 1);
    server.pause();
    await rec.until('watchdog', () => rec!.statuses.some((s) => /watchdog/.test(s.reason ?? '')));
    expect(rec.statuses.find((s) => s.state === 'down')!.reason).toMatch(
      /no data for 1\.5 s \(watchdog killed ffmpeg\)/,
    );
    server.resume();
    await rec.until('a segment after recovery', () => rec!.segments.some((s) => s.discontinuity));
    expect(rec.states().at(-1)).toBe('up');
  });

  it('a slow consumer never blocks a live source: the oldest waiting segments are dropped and counted', async () => {
    server = await startRtspServer();
    const consumed = new Subject<void>();
    rec = new Recorder(server.url('/pattern'), { ...small, consumed, maxPending: 1, queueSize: 1 });
    // nothing acknowledged: one segment out, one waiting, the rest dropped (oldest first)
    await rec.until('2 drops', () => (rec!.statuses.at(-1)?.dropped ?? 0) >= 2);
    expect(rec.segments).toHaveLength(1);
    consumed.next();
    await rec.until('the waiting segment', () => rec!.segments.length >= 2);
    const waiting = rec.segments[1];
    expect(waiting.discontinuity).toBe(true);
    expect(waiting.index).toBeGreaterThanOrEqual(3); // segments 1 and 2 (at least) were dropped
    expect(rec.statuses.at(-1)!.reason).toMatch(/dropped the oldest waiting segment/);
  });
});
