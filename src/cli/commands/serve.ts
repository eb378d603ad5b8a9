// `avvp serve`: the real-time runtime over HTTP. Parses flags and the YAML config, starts the
// server (src/runtime/server.ts), logs stream status changes, and stops gracefully on SIGINT/SIGTERM.
import { CliError, numberFlag, parseCommandArgs, providersFlag, type Command } from '../command.js';
import {
  ConfigError,
  MAX_LOOKAHEAD,
  SERVE_DEFAULTS,
  mergeServeConfig,
  parseSourceFlag,
  readServeConfig,
  type PartialServeConfig,
} from '../../runtime/config.js';
import { PoolError } from '../../pool/pool.js';
import { RuntimeModelError } from '../../runtime/models.js';
import { startServer, type RunningServer } from '../../runtime/server.js';

const usage = `Usage: avvp serve --source NAME=URL [--source ...] [--config avvp.yaml] [options]

Parses live streams (RTSP cameras, files played in real time, any ffmpeg URL) and publishes
segments, events and stream status over WebSocket (ws://HOST:PORT/v1/events), Prometheus metrics
on /metrics, health on /healthz and /readyz, and a stream REST API on /v1/streams (docs/runtime.md).

Options:
  --source NAME=URL   a stream: NAME is a short label (cam1), never the URL (repeatable)
  --config FILE       YAML with any of: host, port, models, head, token, lookahead, queue,
                      workers, providers, decodeThreads, decodeNice, streams (a mapping NAME: URL);
                      flags override it
  --port N            HTTP port (default ${SERVE_DEFAULTS.port}; 0 picks a free one)
  --host H            address to listen on (default ${SERVE_DEFAULTS.host})
  --models DIR        model directory (default: the bundled models/)
  --head NAME         parser head by manifest name (default: the directory's parser)
  --token T           require "Authorization: Bearer T" (or ?token=T) except on /healthz, /readyz
  --lookahead L       seconds of future context per prediction, 0..${MAX_LOOKAHEAD} (default ${SERVE_DEFAULTS.lookahead})
  --queue N           segments waiting for inference per stream before the oldest is dropped (default ${SERVE_DEFAULTS.queue})
  --workers N         inference worker threads (default min(2, cores))
  --providers LIST    execution providers to try in order, from cuda, webgpu, cpu (default cuda,cpu:
                      the GPU when 'avvp gpu setup' installed its libraries, else the CPU)
  --decode-threads N  ffmpeg decoder threads per stream (default ${SERVE_DEFAULTS.decodeThreads}: many streams on few cores)
  --decode-nice N     niceness of the ffmpeg decoders, 0..19 (default ${SERVE_DEFAULTS.decodeNice}: inference goes first)

Stops on Ctrl-C / SIGTERM: ffmpeg processes are killed, open events ended, clients closed (1001).`;

const command: Command = {
  name: 'serve',
  summary: 'serve live streams: events over WebSocket, Prometheus metrics, stream REST API',
  usage,
  async run(argv) {
    const { values } = parseCommandArgs(
      argv,
      {
        source: { type: 'string', multiple: true },
        config: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        models: { type: 'string' },
        head: { type: 'string' },
        token: { type: 'string' },
        lookahead: { type: 'string' },
        queue: { type: 'string' },
        workers: { type: 'string' },
        providers: { type: 'string' },
        'decode-threads': { type: 'string' },
        'decode-nice': { type: 'string' },
      },
      false,
    );
    let config;
    try {
      const flags: PartialServeConfig = {
        host: values.host,
        port:
          values.port === undefined
            ? undefined
            : numberFlag('port', values.port, 0, { integer: true, min: 0, max: 65535 }),
        models: values.models,
        head: values.head,
        token: values.token,
        lookahead:
          values.lookahead === undefined
            ? undefined
            : numberFlag('lookahead', values.lookahead, 0, { integer: true, min: 0, max: MAX_LOOKAHEAD }),
        queue:
          values.queue === undefined
            ? undefined
            : numberFlag('queue', values.queue, 0, { integer: true, min: 1, max: 1000 }),
        workers:
          values.workers === undefined
            ? undefined
            : numberFlag('workers', values.workers, 0, { integer: true, min: 1, max: 64 }),
        providers: values.providers === undefined ? undefined : providersFlag(values.providers),
        decodeThreads:
          values['decode-threads'] === undefined
            ? undefined
            : numberFlag('decode-threads', values['decode-threads'], 0, { integer: true, min: 1, max: 64 }),
        decodeNice:
          values['decode-nice'] === undefined
            ? undefined
            : numberFlag('decode-nice', values['decode-nice'], 0, { integer: true, min: 0, max: 19 }),
        streams: (values.source ?? []).map(parseSourceFlag),
      };
      const file = values.config === undefined ? {} : await readServeConfig(values.config);
      config = mergeServeConfig(file, flags);
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(err.message);
      throw err;
    }
    if (config.token === '') throw new CliError('--token must not be empty');
    if (config.streams.length === 0)
      process.stderr.write('avvp serve: no --source given; add streams with POST /v1/streams\n');
    const log = (line: string) => process.stderr.write(`avvp serve: ${line}\n`);
    const server = await start(() => startServer({ ...config, log }));
    process.stdout.write(
      `avvp serve: listening on ${server.urls.base}\n` +
        `  events   ${server.urls.events}\n  metrics  ${server.urls.metrics}\n` +
        `  streams  ${config.streams.map((s) => s.name).join(', ') || '(none)'}\n`,
    );
    await untilSignal(server);
    return 0;
  },
};

/** The server could not listen (port in use, not permitted, address not here). */
export function isListenError(err: unknown): boolean {
  const code = ((err as Error)?.cause as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL';
}

/** Starting errors the user can fix (models, port) become CliErrors (exit 1). */
export async function start(fn: () => Promise<RunningServer>): Promise<RunningServer> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RuntimeModelError || err instanceof PoolError || isListenError(err)) {
      throw new CliError((err as Error).message, 1);
    }
    throw err;
  }
}

/** Resolves after SIGINT/SIGTERM once the server has shut down gracefully. */
export function untilSignal(server: RunningServer, before?: () => void): Promise<void> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      before?.();
      process.stderr.write(`avvp: ${signal}: stopping streams and closing clients...\n`);
      void server.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export default command;
