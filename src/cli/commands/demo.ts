// `avvp demo` (`npm start`): the first thing a newcomer runs. Makes (or reuses) a SynthAV clip
// with known events, serves it looping as a live stream with the bundled models, and prints the
// WebSocket and metrics URLs and a live event log read back over the WebSocket API itself, each
// event beside the clip's ground truth.
import { CliError, numberFlag, parseCommandArgs, type Command } from '../command.js';
import { demoClip, truthIntervals, truthSummary, type DemoClip } from '../../runtime/demo-clip.js';
import { startServer, type RunningServer } from '../../runtime/server.js';
import { EventClient } from '../../sinks/client.js';
import type { EventMessage, StatusMessage } from '../../sinks/protocol.js';
import { isPresetName, PRESETS, type PresetName } from '../../synth/presets.js';
import { start, untilSignal } from './serve.js';

/** A clip the bundled head parses well (see docs/runtime.md, "Demo"). */
export const DEMO_DEFAULTS = { seed: 7, clip: 9, preset: 'easy' as PresetName, port: 8080 };
const STREAM = 'demo';

const usage = `Usage: avvp demo [--seconds N] [--port P] [--models DIR] [--seed S] [--clip I] [--preset P]

Serves a SynthAV clip with known events as a looping live stream through the real runtime and
prints what the parser finds, next to the truth. Runs until Ctrl-C (or for --seconds N).

Options:
  --seconds N    stop after N seconds and print a summary
  --port P       HTTP port (default ${DEMO_DEFAULTS.port}; a free one if it is taken)
  --models DIR   model directory (default: the bundled models/)
  --seed S, --clip I, --preset P   which SynthAV clip (default ${DEMO_DEFAULTS.seed}, ${DEMO_DEFAULTS.clip}, ${DEMO_DEFAULTS.preset}; presets: ${Object.keys(PRESETS).join(', ')})`;

const command: Command = {
  name: 'demo',
  summary: 'live demo: a looping SynthAV clip parsed in real time, events beside the truth',
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        seconds: { type: 'string' },
        port: { type: 'string' },
        models: { type: 'string' },
        seed: { type: 'string' },
        clip: { type: 'string' },
        preset: { type: 'string' },
      },
      false,
    );
    const seconds =
      values.seconds === undefined
        ? undefined
        : numberFlag('seconds', values.seconds, 0, { min: 1, max: 86_400 });
    const port = numberFlag('port', values.port, DEMO_DEFAULTS.port, { integer: true, min: 0, max: 65535 });
    const seed = numberFlag('seed', values.seed, DEMO_DEFAULTS.seed, {
      integer: true,
      min: 0,
      max: 2 ** 32 - 1,
    });
    const index = numberFlag('clip', values.clip, DEMO_DEFAULTS.clip, {
      integer: true,
      min: 0,
      max: 1_000_000,
    });
    const preset = values.preset ?? DEMO_DEFAULTS.preset;
    if (!isPresetName(preset))
      throw new CliError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, got '${preset}'`);

    const out = (line = '') => process.stdout.write(line + '\n');
    out('avvp demo: real-time audio-visual parsing of a looping SynthAV clip');
    const clip = await demoClip({
      seed,
      index,
      preset,
      onGenerate: (file) => out(`  making the demo clip ${file} (once; a few seconds) ...`),
    }).catch((err: Error) => {
      throw new CliError(`cannot make the demo clip: ${err.message}`, 1);
    });
    const server = await start(() => serveClip(clip, port, values.models));
    const duration = clip.clip.options.duration;
    out(
      `  clip     ${clip.file} (${duration} s, ${clip.cached ? 'cached' : 'generated'}; SynthAV ${preset} seed ${seed} clip ${index})`,
    );
    out(`  events   ${server.urls.events}   (WebSocket API v1, docs/protocol.md)`);
    out(`  metrics  ${server.urls.metrics}`);
    out(`  truth    ${describeTruth(clip)}`);
    out(seconds === undefined ? 'Ctrl-C to stop.' : `Running for ${seconds} s.`);
    out();
    out(
      `${'time'.padEnd(8)}  ${'phase'.padEnd(5)}  ${'modality'.padEnd(12)}  ${'label'.padEnd(16)}  ${'media s'.padEnd(11)}  ${'clip s'.padEnd(9)}  conf  truth`,
    );

    const log = new EventLog(clip, out);
    const client = new EventClient({
      url: server.urls.events,
      subscription: { types: ['event', 'status'] },
      onMessage: (msg) =>
        msg.type === 'event' ? log.event(msg) : msg.type === 'status' ? log.status(msg) : undefined,
    });
    client.start();
    const stopped = untilSignal(server, () => client.close());
    if (seconds !== undefined) {
      await Promise.race([stopped, new Promise((r) => setTimeout(r, seconds * 1000))]);
      client.close();
      await server.close();
    } else {
      await stopped;
    }
    out();
    out(log.summary());
    return 0;
  },
};

async function serveClip(clip: DemoClip, port: number, models: string | undefined): Promise<RunningServer> {
  const options = {
    host: '127.0.0.1',
    models,
    lookahead: 2,
    queue: 2,
    streams: [{ name: STREAM, source: clip.source }],
  };
  try {
    return await startServer({ ...options, port });
  } catch (err) {
    if (port === 0 || ((err as Error).cause as NodeJS.ErrnoException)?.code !== 'EADDRINUSE') throw err;
    process.stdout.write(`  (port ${port} is taken; using a free port)\n`);
    return startServer({ ...options, port: 0 });
  }
}

function describeTruth(clip: DemoClip): string {
  return truthSummary(clip.clip)
    .map((t) => `${t.label} ${t.modality} ${t.span.start}-${t.span.end} s`)
    .join(', ');
}

/** Prints start and end of each event with its place in the clip and whether the truth agrees. */
class EventLog {
  private readonly duration: number;
  private loop = -1;
  private started = 0;
  private matched = 0;

  constructor(
    private readonly demo: DemoClip,
    private readonly out: (line: string) => void,
  ) {
    this.duration = demo.clip.options.duration;
  }

  event(e: EventMessage): void {
    if (e.phase === 'update') return;
    const loop = Math.floor(e.start / this.duration);
    if (loop > this.loop) {
      this.loop = loop;
      this.out(`-- loop ${loop + 1} (media ${loop * this.duration}-${(loop + 1) * this.duration} s)`);
    }
    const offset = loop * this.duration;
    const end = e.end ?? e.start + 1;
    const clipStart = e.start - offset;
    const truth = truthIntervals(this.demo.clip, e.label, e.modality);
    // Within one second of a true onset (start) or of the true span (end).
    const hit = truth.find((t) =>
      e.phase === 'start'
        ? Math.abs(t.start - clipStart) <= 1
        : clipStart < t.end + 1 && end - offset > t.start - 1,
    );
    if (e.phase === 'start') {
      this.started++;
      if (hit) this.matched++;
    }
    const time = new Date().toTimeString().slice(0, 8);
    const media = `${e.start.toFixed(0)}-${end.toFixed(0)}`;
    const clipSpan = `${clipStart.toFixed(0)}-${(end - offset).toFixed(0)}`;
    const verdict = hit
      ? `yes (${hit.start}-${hit.end} s)`
      : truth.length
        ? `off (true ${truth.map((t) => `${t.start}-${t.end}`).join(', ')} s)`
        : 'no (not in the clip)';
    this.out(
      `${time}  ${e.phase.padEnd(5)}  ${e.modality.padEnd(12)}  ${e.label.padEnd(16)}  ${media.padEnd(11)}  ${clipSpan.padEnd(9)}  ${e.confidence.toFixed(2)}  ${verdict}`,
    );
  }

  status(s: StatusMessage): void {
    const time = new Date(s.wallclock).toTimeString().slice(0, 8);
    this.out(`${time}  stream ${s.stream} ${s.state}${s.reason ? ` (${s.reason})` : ''}`);
  }

  summary(): string {
    return `${this.started} events started, ${this.matched} within a second of a true onset.`;
  }
}

export default command;
