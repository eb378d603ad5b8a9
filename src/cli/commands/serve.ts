// `avvp serve`: the real-time runtime over HTTP. Parses flags and the YAML config, starts the
// server (src/runtime/server.ts), logs stream status changes, and stops gracefully on SIGINT/SIGTERM.
import { CliError, numberFlag, parseCommandArgs, providersFlag, type Command } from '../command.js';
import { readFile, stat } from 'node:fs/promises';
import {
  ConfigError,
  MAX_LOOKAHEAD,
  SERVE_DEFAULTS,
  checkAllowedHost,
  checkAllowedOrigin,
  checkScheme,
  checkSourceDir,
  exposureProblem,
  mergeServeConfig,
  parseSourceFlag,
  readServeConfig,
  tokenProblem,
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
                      workers, providers, decodeThreads, decodeNice, allowedHosts, allowedOrigins,
                      maxClientsPerAddress, maxStreams, sourcePolicy, streams (a mapping NAME: URL);
                      flags override it
  --port N            HTTP port (default ${SERVE_DEFAULTS.port}; 0 picks a free one)
  --host H            address to listen on (default ${SERVE_DEFAULTS.host}: this machine only); any
                      other address needs a token (docs/security.md)
  --models DIR        model directory (default: the bundled models/)
  --head NAME         parser head by manifest name (default: the directory's parser)

Security (docs/security.md):
  AVVP_TOKEN=T        (environment) require "Authorization: Bearer T" (or ?token=T) except on
                      /healthz, /readyz
  --token-file FILE   read the token from the first line of FILE (chmod 600 it)
  --token T           the same, but visible to every local user through ps: prefer the above
  --insecure-no-token listen on a non-loopback --host without a token (anyone who can reach it
                      can add streams)
  --allow-host NAME   a host name clients may use besides localhost and IP addresses (DNS
                      rebinding protection); .example.com allows subdomains (repeatable)
  --allow-origin O    a web origin (https://dashboard.example) whose pages may call the API
                      (repeatable; default: the same origin only)
  --allow-scheme S    a URL scheme POST /v1/streams may open besides rtsp, rtsps, http, https,
                      srt (repeatable)
  --source-dir DIR    a folder whose files POST /v1/streams may open (repeatable; default none)
  --allow-lavfi       let POST /v1/streams open lavfi: graphs (they can read and write files)
  --allow-loopback    let POST /v1/streams open URLs on this machine (localhost, 127.x, ::1)
  --max-clients-per-address N
                      WebSocket connections one address may hold (default 16)
  --max-streams N     streams at once, configured and added through the API (default 64);
                      POST /v1/streams beyond it is answered 429

Tuning:
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
        'token-file': { type: 'string' },
        'insecure-no-token': { type: 'boolean' },
        'allow-host': { type: 'string', multiple: true },
        'allow-origin': { type: 'string', multiple: true },
        'allow-scheme': { type: 'string', multiple: true },
        'source-dir': { type: 'string', multiple: true },
        'allow-lavfi': { type: 'boolean' },
        'allow-loopback': { type: 'boolean' },
        'max-clients-per-address': { type: 'string' },
        'max-streams': { type: 'string' },
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
        token: await flagToken(values.token, values['token-file']),
        allowedHosts: values['allow-host']?.map((h) => checkAllowedHost(h, '--allow-host', flagFail)),
        allowedOrigins: values['allow-origin']?.map((o) => checkAllowedOrigin(o, '--allow-origin', flagFail)),
        maxStreams:
          values['max-streams'] === undefined
            ? undefined
            : numberFlag('max-streams', values['max-streams'], 0, { integer: true, min: 1, max: 10_000 }),
        maxClientsPerAddress:
          values['max-clients-per-address'] === undefined
            ? undefined
            : numberFlag('max-clients-per-address', values['max-clients-per-address'], 0, {
                integer: true,
                min: 1,
                max: 10_000,
              }),
        sourcePolicy:
          values['allow-scheme'] === undefined &&
          values['source-dir'] === undefined &&
          values['allow-lavfi'] === undefined &&
          values['allow-loopback'] === undefined
            ? undefined
            : {
                schemes: (values['allow-scheme'] ?? []).map((x) =>
                  checkScheme(x, '--allow-scheme', flagFail),
                ),
                fileDirs: (values['source-dir'] ?? []).map((d) =>
                  checkSourceDir(d, '--source-dir', flagFail),
                ),
                lavfi: values['allow-lavfi'] ?? false,
                allowLoopback: values['allow-loopback'] ?? false,
              },
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
    // The token: --token or --token-file, else AVVP_TOKEN, else the config file's.
    if (values.token === undefined && values['token-file'] === undefined) {
      const env = process.env.AVVP_TOKEN;
      if (env !== undefined) config.token = checkedToken(env, 'AVVP_TOKEN');
    }
    const exposed = exposureProblem(config);
    if (exposed !== undefined && !values['insecure-no-token']) throw new CliError(exposed);
    const log = (line: string) => process.stderr.write(`avvp serve: ${line}\n`);
    if (exposed !== undefined) {
      log(
        `WARNING: listening on ${config.host} WITHOUT A TOKEN (--insecure-no-token): anyone who can ` +
          'reach this port can add streams, which start ffmpeg processes on this machine',
      );
    }
    if (values.token !== undefined)
      log('warning: --token is visible to every local user through ps; use AVVP_TOKEN or --token-file');
    if (config.streams.length === 0)
      process.stderr.write('avvp serve: no --source given; add streams with POST /v1/streams\n');
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

function flagFail(key: string, why: string): never {
  throw new CliError(`${key}: ${why}`);
}

function checkedToken(token: string, where: string): string {
  const problem = tokenProblem(token);
  if (problem) throw new CliError(`${where}: ${problem}`);
  return token;
}

/** The token from --token or --token-file (its first line, trimmed); a warning if others can read the file. */
async function flagToken(token: string | undefined, file: string | undefined): Promise<string | undefined> {
  if (token !== undefined && file !== undefined)
    throw new CliError('give either --token or --token-file, not both');
  if (token !== undefined) return checkedToken(token, '--token');
  if (file === undefined) return undefined;
  let text: string;
  let mode: number;
  try {
    [text, mode] = await Promise.all([readFile(file, 'utf8'), stat(file).then((s) => s.mode)]);
  } catch (err) {
    throw new CliError(`--token-file: cannot read '${file}' (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  const first = checkedToken(text.split(/\r?\n/, 1)[0]!.trim(), '--token-file');
  if ((mode & 0o004) !== 0) {
    process.stderr.write(
      `avvp serve: warning: token file '${file}' is readable by every user; run chmod 600 '${file}'\n`,
    );
  }
  return first;
}

/** The server could not listen (port in use, not permitted, address not here). */
export function isListenError(err: unknown): boolean {
  const code = ((err as Error)?.cause as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL';
}

/**
 * Every failure to start becomes one line and exit 1 (startServer has closed what it started):
 * errors the user can fix (models, port) as they are, anything else as "cannot start".
 */
export async function start(fn: () => Promise<RunningServer>): Promise<RunningServer> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RuntimeModelError) throw new CliError(err.message, 1);
    if (err instanceof PoolError || isListenError(err)) throw new CliError((err as Error).message, 1);
    const message = err instanceof Error ? err.message : String(err);
    throw new CliError(`cannot start: ${message.split('\n')[0]}`, 1);
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
