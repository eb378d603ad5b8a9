// Assembles a running server from a configuration: models -> inference pool -> Runtime -> HTTP API
// (WebSocket /v1/events, /metrics, /healthz, /readyz, /v1/streams). Used by `avvp serve`, the demo,
// the end-to-end tests and the runtime benchmark, so they all run exactly the same wiring.
import { assertToken } from '../sinks/auth.js';
import { HttpApi, type HttpServerOptions } from '../sinks/http.js';
import { Metrics } from '../sinks/metrics.js';
import { SERVE_DEFAULTS, type ServeConfig } from './config.js';
import { BUNDLED_MODEL_DIR, loadRuntimeModels } from './models.js';
import { Inference, type InferenceOptions } from './pipeline.js';
import { Runtime, type RuntimeOptions } from './runtime.js';
import { DEFAULT_SOURCE_POLICY } from '../streams/sourcePolicy.js';

export interface ServerOptions extends Omit<ServeConfig, 'streams'> {
  streams?: ServeConfig['streams'];
  inference?: Omit<InferenceOptions, 'observeStage' | 'onBatch' | 'log' | 'workers'>;
  media?: RuntimeOptions['media'];
  ws?: HttpServerOptions['ws'];
  /** Export process metrics (CPU, memory, GC; default true). */
  processMetrics?: boolean;
  log?: (line: string) => void;
}

export interface RunningServer {
  runtime: Runtime;
  api: HttpApi;
  metrics: Metrics;
  port: number;
  /** ws://host:port/v1/events, http://host:port/metrics */
  urls: { events: string; metrics: string; base: string };
  /** Graceful stop: streams (ffmpeg killed, events ended), clients (1001), workers. */
  close(): Promise<void>;
}

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const log = o.log ?? (() => {});
  // Checked before anything starts: a bad token must not leave worker threads behind.
  assertToken(o.token);
  const models = await loadRuntimeModels(o.models ?? BUNDLED_MODEL_DIR, o.head, log);
  const metrics = new Metrics({ processMetrics: o.processMetrics });
  const inference = await Inference.create(models, {
    ...o.inference,
    workers: o.workers,
    providers: o.providers,
    observeStage: (stage, s) => metrics.observeStage(stage, s),
    onBatch: (n) => metrics.inferenceBatch(n),
    log,
  });
  // From here on, whatever fails closes what was started (worker threads, ffmpeg, the socket),
  // so that a failed start leaves no process behind and `avvp serve` can exit.
  let runtime: Runtime | undefined;
  let api: HttpApi | undefined;
  try {
    for (const [name, info] of Object.entries(inference.pool.modelInfo)) {
      metrics.modelProvider(name, info.provider);
      log(`model ${name} runs on ${info.provider}`);
    }
    const runtimeOptions: RuntimeOptions = {
      inference,
      metrics,
      publish: (msg) => api!.events.publish(msg),
      lookahead: o.lookahead,
      queue: o.queue,
      media: {
        decodeThreads: o.decodeThreads ?? SERVE_DEFAULTS.decodeThreads,
        decodeNice: o.decodeNice ?? SERVE_DEFAULTS.decodeNice,
        ...o.media,
      },
      // What POST /v1/streams may open (docs/security.md); the configured streams are trusted.
      sourcePolicy: o.sourcePolicy ?? DEFAULT_SOURCE_POLICY,
      maxStreams: o.maxStreams,
      log,
    };
    const rt = new Runtime(runtimeOptions);
    runtime = rt;
    api = new HttpApi({
      metrics,
      readiness: rt,
      streams: rt,
      hello: () => ({ streams: rt.list().map((s) => s.name), classes: [...rt.classes] }),
      token: o.token,
      allowedHosts: o.allowedHosts,
      allowedOrigins: o.allowedOrigins,
      ws: { maxClientsPerAddress: o.maxClientsPerAddress, ...o.ws },
    });
    const port = await api.listen(o.port, o.host);
    // The operator's own streams are trusted; the source policy is for POST /v1/streams.
    for (const s of o.streams ?? []) await rt.addTrusted(s.name, s.source);
    const host = o.host.includes(':') ? `[${o.host}]` : o.host;
    const openApi = api;
    let closing: Promise<void> | undefined;
    return {
      runtime: rt,
      api: openApi,
      metrics,
      port,
      urls: {
        events: `ws://${host}:${port}/v1/events`,
        metrics: `http://${host}:${port}/metrics`,
        base: `http://${host}:${port}`,
      },
      close: () =>
        (closing ??= (async () => {
          await rt.close();
          await openApi.close();
        })()),
    };
  } catch (err) {
    // runtime.close() closes the inference pool too.
    await (runtime ? runtime.close() : inference.close()).catch(() => {});
    await api?.close().catch(() => {});
    throw err;
  }
}
