// npm run bench:runtime — how many real-time 720p30 streams `avvp serve` sustains, against how many
// plain ffmpeg decode processes the same machine sustains, in one run.
//
// Input: a generated 1280x720 30 fps H.264 + AAC file of D seconds (default 12).
// Baseline trial with N: N concurrent `ffmpeg -re -i file -f null -` (real-time decode); sustained
//   when every process finishes within a second of D (the tolerance the runtime trial has too).
//   Searched twice: ffmpeg's default decoder threads, and `-threads 1` as avvp serve decodes.
// Runtime trial with N: the real server (startServer: ffmpeg ingest, worker-pool encoders and head,
//   lookahead L = 2, WebSocket) with N streams playing the file in real time, read by a WebSocket
//   client; sustained when no segment is dropped, every segment of every stream arrives, and the
//   segment-end-to-WebSocket latency p99 stays within a second of L (keeping up with real time).
//   The latency target (p99 < 250 ms + L) is reported at 1 stream and at the maximum.
// N grows by doubling until a trial fails (or --max), then is bisected. Also reported: latency
// p50/p99 at 1 stream and at the maximum, RSS per stream (this process + its ffmpeg children, over
// a server with no stream), and CPU seconds per media second of each side (stable under load, unlike
// the counts). --repeats R repeats both searches and reports the medians. --streams=N runs one
// runtime trial; --nice=K sets the decoders' niceness; --stagger spreads the stream starts over a
// second (independent cameras) instead of starting them together.
import { execFile, execFileSync } from 'node:child_process';
import os from 'node:os';
import WebSocket from 'ws';
import { BUNDLED_MODEL_DIR } from '../src/runtime/models.js';
import { startServer, type RunningServer, type ServerOptions } from '../src/runtime/server.js';
import type { ServerMessage } from '../src/sinks/protocol.js';
import { locateFfmpeg } from '../src/streams/ffmpeg/locate.js';
import { makeH264Input } from './ffmpeg.js';
import { cpuSeconds, median } from './stats.js';

const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const SECONDS = arg('seconds', 12);
const MAX = arg('max', 16);
const REPEATS = arg('repeats', 1);
const LOOKAHEAD = 2;
/** ffmpeg niceness in avvp serve (its default unless given). */
const NICE = process.argv.find((a) => a.startsWith('--nice=')) ? arg('nice', 0) : undefined;
/** Start the streams spread over one second instead of all at once (the worst case). */
const STAGGER = process.argv.includes('--stagger');
/** --streams=N: one runtime trial at N streams instead of the searches. */
const ONLY = process.argv.find((a) => a.startsWith('--streams=')) ? arg('streams', 1) : undefined;
const MODELS = process.argv.find((a) => a.startsWith('--models='))?.slice(9) ?? BUNDLED_MODEL_DIR;
/** The server of every runtime trial and of the RSS baseline. */
const SERVER: ServerOptions = {
  host: '127.0.0.1',
  port: 0,
  models: MODELS,
  lookahead: LOOKAHEAD,
  queue: 2,
  processMetrics: false,
  ...(NICE === undefined ? {} : { decodeNice: NICE }),
};
/** Resident memory of this process and its live children, MiB. */
function rssMiB(): number {
  const children = execFileSync('ps', ['-o', 'rss=', '--ppid', String(process.pid)], { encoding: 'utf8' })
    .split('\n')
    .reduce((sum, line) => sum + (Number(line.trim()) || 0), 0);
  return (process.memoryUsage().rss / 1024 + children) / 1024;
}

interface Trial {
  n: number;
  ok: boolean;
  why: string;
  cpuPerMediaSecond: number;
  latency?: { p50: number; p99: number };
  rssPerStream?: number;
}

/** N concurrent real-time decodes; `threads` adds `-threads N` (decoder threads) before the input. */
async function ffmpegTrial(file: string, n: number, threads?: number): Promise<Trial> {
  const cpu0 = cpuSeconds();
  const walls = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<number>((resolve, reject) => {
          const t0 = performance.now();
          execFile(
            'ffmpeg',
            [
              ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-re'],
              ...(threads === undefined ? [] : ['-threads', String(threads)]),
              ...['-i', file, '-f', 'null', '-'],
            ],
            (err) => (err ? reject(err) : resolve((performance.now() - t0) / 1000)),
          );
        }),
    ),
  );
  const slowest = Math.max(...walls);
  const ok = slowest <= SECONDS + 1;
  return {
    n,
    ok,
    why: `slowest ${slowest.toFixed(2)} s for ${SECONDS} s`,
    cpuPerMediaSecond: (cpuSeconds() - cpu0) / (n * SECONDS),
  };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
}

async function runtimeTrial(file: string, n: number, rss0: number): Promise<Trial> {
  const streams = Array.from({ length: n }, (_, i) => ({ name: `s${i}`, source: file }));
  let server: RunningServer | undefined;
  const latencies: number[] = [];
  const segments = new Map<string, number>();
  let ingestDrops = 0;
  let rss = 0;
  try {
    server = await startServer(SERVER);
    const ws = new WebSocket(server.urls.events);
    const ended = new Set<string>();
    const done = new Promise<void>((resolve) => {
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString()) as ServerMessage;
        if (m.type === 'hello') ws.send(JSON.stringify({ op: 'subscribe', types: ['segment', 'status'] }));
        if (m.type === 'segment') {
          latencies.push(Date.now() - (m.wallclock + m.duration * 1000));
          segments.set(m.stream, (segments.get(m.stream) ?? 0) + 1);
        }
        if (m.type === 'status') {
          ingestDrops = Math.max(ingestDrops, m.dropped);
          if (m.state === 'ended' || m.state === 'down') ended.add(m.stream);
          if (ended.size === n) resolve();
        }
      });
    });
    await new Promise((resolve) => ws.once('open', resolve));
    // CPU from here: the streams' work, not the model loading of startServer.
    const cpu0 = cpuSeconds();
    for (const s of streams) {
      await server.runtime.addTrusted(s.name, s.source);
      // --stagger: independent cameras, whose second boundaries fall anywhere in the second
      if (STAGGER) await new Promise((r) => setTimeout(r, 1000 / n));
    }
    const sample = setTimeout(() => (rss = rssMiB()), (SECONDS / 2) * 1000);
    const limit = new Promise<void>((resolve) => setTimeout(resolve, (SECONDS + 30) * 1000).unref());
    await Promise.race([done, limit]);
    clearTimeout(sample);
    // The last L segments are answered once the file has ended: give them a few seconds.
    const complete = () => streams.every((s) => (segments.get(s.name) ?? 0) >= SECONDS);
    for (let waited = 0; !complete() && waited < 5000; waited += 50)
      await new Promise((r) => setTimeout(r, 50));
    ws.close();
    const metrics = await server.metrics.text();
    const overloadDrops = [...metrics.matchAll(/^avvp_segments_dropped_total\{[^}]*\} (\d+)/gm)].reduce(
      (s, m) => s + Number(m[1]),
      0,
    );
    const missing = streams.filter((s) => (segments.get(s.name) ?? 0) < SECONDS).length;
    const p50 = percentile(latencies, 0.5);
    const p99 = percentile(latencies, 0.99);
    const problems = [
      overloadDrops + ingestDrops > 0 ? `${overloadDrops + ingestDrops} dropped` : '',
      missing > 0 ? `${missing} streams short of ${SECONDS} segments` : '',
      // Falling more than a segment period behind real time means the stream is not kept up with.
      p99 > LOOKAHEAD * 1000 + 1000 ? `p99 ${p99} ms: more than a second behind` : '',
    ].filter(Boolean);
    return {
      n,
      ok: problems.length === 0,
      why: problems.join(', ') || `p50 ${p50} ms, p99 ${p99} ms`,
      cpuPerMediaSecond: (cpuSeconds() - cpu0) / (n * SECONDS),
      latency: { p50, p99 },
      rssPerStream: rss > 0 ? (rss - rss0) / n : undefined,
    };
  } finally {
    await server?.close();
  }
}

/** Largest n in [1, MAX] for which `trial` succeeds: doubling, then bisection. */
async function search(
  name: string,
  trial: (n: number) => Promise<Trial>,
): Promise<{ max: number; trials: Trial[] }> {
  const trials: Trial[] = [];
  const run = async (n: number) => {
    const t = await trial(n);
    trials.push(t);
    console.log(`  ${name} n=${n}: ${t.ok ? 'sustained' : 'NOT sustained'} (${t.why})`);
    return t.ok;
  };
  let good = 0;
  let bad = MAX + 1;
  for (let n = 1; n <= MAX; n *= 2) {
    if (await run(n)) good = n;
    else {
      bad = n;
      break;
    }
  }
  if (bad === MAX + 1 && good < MAX && (await run(MAX))) good = MAX;
  while (bad - good > 1 && good < MAX) {
    const mid = (good + bad) >> 1;
    if (await run(mid)) good = mid;
    else bad = mid;
  }
  return { max: good, trials };
}

async function baselineRss(): Promise<number> {
  const server = await startServer(SERVER);
  await new Promise((r) => setTimeout(r, 1000));
  const rss = rssMiB();
  await server.close();
  return rss;
}

const ffmpeg = await locateFfmpeg();
const file = await makeH264Input(ffmpeg, { width: 1280, height: 720, fps: 30, seconds: SECONDS });
console.log(
  `bench:runtime: ${SECONDS} s of 720p30 per stream, lookahead ${LOOKAHEAD}, ${os.cpus().length} CPUs, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
const rss0 = await baselineRss();
if (ONLY !== undefined) {
  const t = await runtimeTrial(file, ONLY, rss0);
  console.log(
    `avvp serve n=${ONLY}${NICE === undefined ? '' : ` nice ${NICE}`}${STAGGER ? ' staggered' : ''}: ${t.ok ? 'sustained' : 'NOT sustained'} (${t.why}); CPU s per media s ${t.cpuPerMediaSecond.toFixed(3)}`,
  );
  process.exit(0);
}
const ffmpegMax: number[] = [];
const ffmpegOneThreadMax: number[] = [];
const runtimeMax: number[] = [];
const results: { ffmpeg: Trial[]; runtime: Trial[] }[] = [];
for (let r = 0; r < REPEATS; r++) {
  console.log(`run ${r + 1}/${REPEATS}`);
  const base = await search('ffmpeg', (n) => ffmpegTrial(file, n));
  // avvp serve decodes with one thread per stream; the same setting for plain ffmpeg, for fairness
  const baseOne = await search('ffmpeg -threads 1', (n) => ffmpegTrial(file, n, 1));
  const rt = await search('avvp serve', (n) => runtimeTrial(file, n, rss0));
  ffmpegMax.push(base.max);
  ffmpegOneThreadMax.push(baseOne.max);
  runtimeMax.push(rt.max);
  results.push({ ffmpeg: base.trials, runtime: rt.trials });
}
const last = results.at(-1)!;
const at = (n: number) => last.runtime.find((t) => t.n === n && t.latency);
const one = at(1);
const top = at(median(runtimeMax)) ?? at(runtimeMax.at(-1)!);
const cpuFfmpeg = median(last.ffmpeg.map((t) => t.cpuPerMediaSecond));
const cpuRuntime = median(last.runtime.map((t) => t.cpuPerMediaSecond));
const rssPer = last.runtime.map((t) => t.rssPerStream).filter((x): x is number => x !== undefined);
console.log('');
console.log(
  `max real-time streams: ffmpeg decode ${median(ffmpegMax)} (runs ${ffmpegMax.join(', ')}), avvp serve ${median(runtimeMax)} (runs ${runtimeMax.join(', ')})`,
);
console.log(
  `ratio avvp serve / ffmpeg: ${(median(runtimeMax) / Math.max(1, median(ffmpegMax))).toFixed(2)} (target >= 0.85)`,
);
console.log(
  `ffmpeg -threads 1: ${median(ffmpegOneThreadMax)} (runs ${ffmpegOneThreadMax.join(', ')}); ratio avvp serve / that: ${(median(runtimeMax) / Math.max(1, median(ffmpegOneThreadMax))).toFixed(2)}`,
);
if (one?.latency)
  console.log(
    `latency at 1 stream: p50 ${one.latency.p50} ms, p99 ${one.latency.p99} ms (target p99 < ${250 + LOOKAHEAD * 1000} ms)`,
  );
if (top?.latency && top !== one)
  console.log(`latency at ${top.n} streams: p50 ${top.latency.p50} ms, p99 ${top.latency.p99} ms`);
console.log(
  `CPU s per media s: ffmpeg ${cpuFfmpeg.toFixed(3)}, avvp serve ${cpuRuntime.toFixed(3)} (ratio ${(cpuFfmpeg / cpuRuntime).toFixed(2)}: CPU-bound capacity relative to ffmpeg)`,
);
if (rssPer.length)
  console.log(
    `RSS per stream: ${median(rssPer).toFixed(1)} MiB (median over trials; server alone ${rss0.toFixed(0)} MiB)`,
  );
console.log(
  `load after: ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
