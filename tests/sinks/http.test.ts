import { afterEach, describe, expect, it } from 'vitest';
import { HttpApi, StreamControllerError } from '../../src/sinks/http.js';
import { Metrics } from '../../src/sinks/metrics.js';
import { segmentMessage } from '../../src/sinks/protocol.js';
import { CLASSES, MemoryStreams, TestClient, startServer, type TestServer } from './helpers.js';
import { parsePrometheusText, sampleValue } from './prom-text.js';

let server: TestServer | undefined;

afterEach(async () => {
  await server?.api.close();
  server = undefined;
});

async function request(path: string, init: RequestInit = {}) {
  const res = await fetch(`${server!.base}${path}`, init);
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return {
    status: res.status,
    headers: res.headers,
    text,
    body: type.includes('json') ? JSON.parse(text) : undefined,
  };
}

const postJson = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

async function metrics() {
  const res = await request('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(res.text);
}

describe('health', () => {
  it('/healthz answers 200; /readyz waits for models and for every stream to produce a segment or reconnect', async () => {
    server = await startServer({ token: 'tok' }); // health stays open for probes
    expect(await request('/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });

    let res = await request('/readyz');
    expect(res).toMatchObject({
      status: 503,
      body: { ready: false, reasons: ['models are not loaded yet'] },
    });

    server.ready.models = true;
    server.ready.streams = [
      { name: 'cam1', state: 'starting', segments: 0 },
      { name: 'cam2', state: 'up', segments: 4 },
    ];
    res = await request('/readyz');
    expect(res.status).toBe(503);
    expect(res.body.reasons).toEqual(['stream cam1 has produced no segment yet (state starting)']);

    server.ready.streams[0]!.state = 'reconnecting';
    expect(await request('/readyz')).toMatchObject({ status: 200, body: { ready: true, reasons: [] } });
    expect((await request('/readyz', { method: 'POST' })).status).toBe(405);
  });
});

describe('listen', () => {
  it('says clearly when the port is taken', async () => {
    server = await startServer();
    const second = new HttpApi({
      metrics: new Metrics({ processMetrics: false }),
      readiness: { modelsLoaded: () => true, streams: () => [] },
      streams: new MemoryStreams(),
      hello: () => ({ streams: [], classes: [] }),
    });
    await expect(second.listen(server.port)).rejects.toThrow(
      `port ${server.port} on 127.0.0.1 is already in use; choose another port`,
    );
    await second.events.close();
  });
});

describe('/metrics', () => {
  it('parses as Prometheus text with every metric of the design, and the counters move', async () => {
    server = await startServer();
    const m = server.metrics;
    m.addStream('cam1');
    let exp = await metrics();
    for (const [name, type] of [
      ['avvp_stage_duration_seconds', 'histogram'],
      ['avvp_segment_latency_seconds', 'histogram'],
      ['avvp_segments_total', 'counter'],
      ['avvp_segments_dropped_total', 'counter'],
      ['avvp_events_total', 'counter'],
      ['avvp_stream_up', 'gauge'],
      ['avvp_stream_restarts_total', 'counter'],
      ['avvp_inference_batch_size', 'histogram'],
      ['avvp_ws_clients', 'gauge'],
      ['avvp_ws_messages_dropped_total', 'counter'],
      ['process_cpu_user_seconds_total', 'counter'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
    ]) {
      expect(exp.types.get(name), name).toBe(type);
    }
    expect(sampleValue(exp, 'avvp_segments_total', { stream: 'cam1' })).toBe(0);
    expect(sampleValue(exp, 'avvp_events_total', { stream: 'cam1', modality: 'audio-visual' })).toBe(0);
    expect(sampleValue(exp, 'avvp_ws_clients')).toBe(0);

    const client = await TestClient.connect(server.wsUrl);
    await client.subscribe();
    const now = Date.now();
    server.api.events.publish(
      segmentMessage({
        stream: 'cam1',
        index: 7,
        t0: 7,
        t1: 8,
        wallclock: now - 1200,
        classes: CLASSES,
        audio: new Float32Array(3),
        visual: new Float32Array(3),
        audioVisual: new Float32Array(3),
      }),
    );
    m.segmentParsed('cam1');
    m.segmentDropped('cam1', 'overload', 2);
    m.eventStarted('cam1', 'audio');
    m.observeStage('encode_audio', 0.004);
    m.inferenceBatch(3);
    m.streamStatus({ stream: 'cam1', state: 'up', at: now, restarts: 0, dropped: 0 });
    m.streamStatus({ stream: 'cam1', state: 'reconnecting', at: now, restarts: 2, dropped: 0 });
    m.streamStatus({ stream: 'cam1', state: 'reconnecting', at: now, restarts: 2, dropped: 0 }); // repeated: no double count

    exp = await metrics();
    expect(sampleValue(exp, 'avvp_ws_clients')).toBe(1);
    expect(sampleValue(exp, 'avvp_segments_total', { stream: 'cam1' })).toBe(1);
    expect(sampleValue(exp, 'avvp_segments_dropped_total', { stream: 'cam1', reason: 'overload' })).toBe(2);
    expect(sampleValue(exp, 'avvp_events_total', { stream: 'cam1', modality: 'audio' })).toBe(1);
    expect(sampleValue(exp, 'avvp_stream_restarts_total', { stream: 'cam1' })).toBe(2);
    expect(sampleValue(exp, 'avvp_stream_up', { stream: 'cam1' })).toBe(0);
    expect(sampleValue(exp, 'avvp_stage_duration_seconds_count', { stage: 'sink' })).toBe(1);
    expect(
      sampleValue(exp, 'avvp_stage_duration_seconds_bucket', { stage: 'encode_audio', le: '0.005' }),
    ).toBe(1);
    expect(
      sampleValue(exp, 'avvp_stage_duration_seconds_bucket', { stage: 'encode_audio', le: '0.0025' }),
    ).toBe(0);
    expect(sampleValue(exp, 'avvp_inference_batch_size_bucket', { le: '4' })).toBe(1);
    // The segment ended 200 ms before it was published, so its latency is above 0.1 s.
    expect(sampleValue(exp, 'avvp_segment_latency_seconds_count', { stream: 'cam1' })).toBe(1);
    expect(sampleValue(exp, 'avvp_segment_latency_seconds_bucket', { stream: 'cam1', le: '0.1' })).toBe(0);

    m.removeStream('cam1');
    exp = await metrics();
    expect(exp.samples.some((s) => s.labels.stream === 'cam1')).toBe(false);
    client.close();
  });

  it('requires the token when one is set', async () => {
    server = await startServer({ token: 'tok' });
    const res = await request('/metrics');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(res.body.error.code).toBe('unauthorized');
    expect((await request('/metrics', { headers: { Authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await request('/metrics', { headers: { Authorization: 'Basic dG9rOg==' } })).status).toBe(401);
    expect((await request('/metrics', { headers: { Authorization: 'Bearer tok' } })).status).toBe(200);
    expect((await request('/metrics?token=tok')).status).toBe(200);
  });
});

describe('REST /v1/streams', () => {
  it('lists, adds and removes streams, masking credentials in sources', async () => {
    server = await startServer();
    expect(await request('/v1/streams')).toMatchObject({ status: 200, body: { streams: [] } });
    const added = await postJson('/v1/streams', {
      name: 'cam1',
      source: 'rtsp://admin:hunter2@10.0.0.5:554/live',
    });
    expect(added.status).toBe(201);
    expect(added.headers.get('location')).toBe('/v1/streams/cam1');
    expect(added.body.stream).toEqual({
      name: 'cam1',
      source: 'rtsp://***@10.0.0.5:554/live',
      status: null,
    });
    expect(added.text).not.toContain('hunter2');
    const one = await request('/v1/streams/cam1');
    expect(one).toMatchObject({
      status: 200,
      body: { stream: { name: 'cam1', source: 'rtsp://***@10.0.0.5:554/live' } },
    });
    const list = await request('/v1/streams');
    expect(list.body.streams.map((s: { name: string }) => s.name)).toEqual(['cam1']);
    expect(list.text).not.toContain('hunter2');
    // The controller got the real source.
    expect(server.streams.streams.get('cam1')!.source).toContain('hunter2');
    // New WebSocket clients see the stream in hello.
    const client = await TestClient.connect(server.wsUrl);
    expect(client.received[0]).toMatchObject({ type: 'hello', streams: ['cam1'] });
    client.close();

    expect((await request('/v1/streams/cam1', { method: 'DELETE' })).status).toBe(204);
    expect((await request('/v1/streams')).body.streams).toEqual([]);
  });

  it('answers bad requests with JSON errors and status codes', async () => {
    server = await startServer({ maxBodyBytes: 1024 });
    await postJson('/v1/streams', { name: 'cam1', source: 'a.mp4' });
    const cases: [Promise<Awaited<ReturnType<typeof request>>>, number, string][] = [
      [postJson('/v1/streams', { name: 'cam1', source: 'b.mp4' }), 409, 'conflict'],
      [postJson('/v1/streams', { name: 'rtsp://u:p@h/x', source: 'b.mp4' }), 400, 'invalid-name'],
      [postJson('/v1/streams', { name: 'cam 2', source: 'b.mp4' }), 400, 'invalid-name'],
      [postJson('/v1/streams', { name: 7, source: 'b.mp4' }), 400, 'invalid-name'],
      [postJson('/v1/streams', { name: 'cam2' }), 400, 'invalid-source'],
      [postJson('/v1/streams', { name: 'cam2', source: '' }), 400, 'invalid-source'],
      [postJson('/v1/streams', { name: 'cam2', source: 'b.mp4', url: 'x' }), 400, 'invalid-body'],
      [postJson('/v1/streams', [1]), 400, 'invalid-body'],
      [postJson('/v1/streams', '{"name": '), 400, 'invalid-json'],
      [postJson('/v1/streams', { name: 'cam2', source: 'x'.repeat(2000) }), 413, 'body-too-large'],
      [request('/v1/streams', { method: 'POST', body: '{}' }), 415, 'unsupported-media-type'],
      [request('/v1/streams', { method: 'PUT' }), 405, 'method-not-allowed'],
      [request('/v1/streams/nope', { method: 'DELETE' }), 404, 'not-found'],
      [request('/v1/streams/cam1', { method: 'PUT' }), 405, 'method-not-allowed'],
      [request('/v1/streams/cam9'), 404, 'not-found'],
      [request('/v1/streams/rtsp%3A%2F%2Fh%2Fx', { method: 'DELETE' }), 400, 'invalid-name'],
      [request('/v1/streams/%E0%A4%A', { method: 'DELETE' }), 400, 'invalid-name'],
      [request('/v1/events'), 426, 'upgrade-required'],
      [request('/nope'), 404, 'not-found'],
    ];
    for (const [pending, status, code] of cases) {
      const res = await pending;
      expect(res.status, res.text).toBe(status);
      expect(res.body.error.code, res.text).toBe(code);
      expect(res.body.error.message.length).toBeGreaterThan(5);
    }
    expect((await request('/v1/streams', { method: 'PUT' })).headers.get('allow')).toBe('GET, POST');
    expect(server.streams.streams.size).toBe(1);
  });

  it('answers 500 with the reason when the controller fails unexpectedly, and keeps serving', async () => {
    server = await startServer();
    server.streams.add = async () => {
      throw new Error('ffmpeg could not be started');
    };
    const res = await postJson('/v1/streams', { name: 'cam2', source: 'a.mp4' });
    expect(res.status).toBe(500);
    expect(res.body.error.message).toMatch(/ffmpeg could not be started/);
    server.streams.remove = async (name) => {
      throw new StreamControllerError('invalid', `stream ${name} is a file and cannot be removed now`);
    };
    expect((await request('/v1/streams/cam9', { method: 'DELETE' })).status).toBe(400);
    expect((await request('/healthz')).status).toBe(200);
  });

  it('requires the token when one is set', async () => {
    server = await startServer({ token: 'tok' });
    expect((await postJson('/v1/streams', { name: 'cam1', source: 'a.mp4' })).status).toBe(401);
    expect((await request('/v1/streams')).status).toBe(401);
    expect(server.streams.streams.size).toBe(0);
    const ok = await postJson(
      '/v1/streams',
      { name: 'cam1', source: 'a.mp4' },
      { Authorization: 'Bearer tok' },
    );
    expect(ok.status).toBe(201);
  });
});
