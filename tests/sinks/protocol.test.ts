import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/util/redact.js';
import { Metrics } from '../../src/sinks/metrics.js';
import {
  ProtocolError,
  eventMessage,
  parseClientMessage,
  segmentMessage,
  statusMessage,
} from '../../src/sinks/protocol.js';
import { ResumeBuffer } from '../../src/sinks/resume-buffer.js';
import { clientSchemas, serverSchemas } from '../../src/sinks/schemas.js';
import { streamNameProblem } from '../../src/sinks/stream-name.js';
import { Rng } from '../../src/util/rng.js';
import { clientValidators, schemaProblem } from './helpers.js';

describe('client message parser', () => {
  const good = [
    { op: 'subscribe' },
    { op: 'subscribe', streams: ['cam1', 'door-2', 'a.b_c'], types: ['event', 'status'] },
    { op: 'subscribe', labels: ['dog'], minConfidence: 0, since: 0 },
    { op: 'subscribe', minConfidence: 1, since: 12 },
    { op: 'resume', since: 0 },
    { op: 'resume', since: 123456 },
  ];
  const bad: [unknown, string][] = [
    [{ op: 'subscribe', streams: [] }, 'streams'],
    [{ op: 'subscribe', streams: ['rtsp://x/y'] }, 'URL'],
    [{ op: 'subscribe', streams: [''] }, 'empty'],
    [{ op: 'subscribe', streams: ['a b'] }, 'letters'],
    [{ op: 'subscribe', streams: new Array(300).fill('a') }, 'at most 256'],
    [{ op: 'subscribe', types: ['events'] }, 'not a message type'],
    [{ op: 'subscribe', types: 'event' }, 'types'],
    [{ op: 'subscribe', labels: [''] }, 'labels'],
    [{ op: 'subscribe', labels: ['x'.repeat(200)] }, 'labels'],
    [{ op: 'subscribe', minConfidence: -0.1 }, 'between 0 and 1'],
    [{ op: 'subscribe', minConfidence: null }, 'minConfidence'],
    [{ op: 'subscribe', since: '3' }, 'since'],
    [{ op: 'subscribe', extra: 1 }, 'unknown field "extra"'],
    [{ op: 'resume' }, 'required'],
    [{ op: 'resume', since: 2 ** 60 }, 'since'],
    [{ op: 'resume', since: 1, streams: ['a'] }, 'unknown field "streams"'],
    [{ op: 'ping' }, 'unknown op'],
    [{}, 'needs a string "op"'],
  ];

  it('accepts exactly what the client JSON Schemas accept', () => {
    for (const msg of good) {
      expect(parseClientMessage(JSON.stringify(msg))).toMatchObject(msg);
      expect(clientValidators.get(msg.op)!(msg), JSON.stringify(msg)).toBe(true);
    }
    for (const [msg, why] of bad) {
      expect(() => parseClientMessage(JSON.stringify(msg)), JSON.stringify(msg)).toThrow(why);
      const op = (msg as { op?: unknown }).op;
      const validate = typeof op === 'string' ? clientValidators.get(op) : undefined;
      expect(validate ? validate(msg) : false, JSON.stringify(msg)).toBe(false);
    }
  });

  it('agrees with the client schemas on 5000 random messages', () => {
    const rng = new Rng(7);
    const pools: Record<string, unknown[]> = {
      op: ['subscribe', 'resume', 'Subscribe', '', 3, null],
      streams: [
        ['cam1'],
        ['cam1', 'b.c_d-2'],
        [],
        ['a/b'],
        ['rtsp://h'],
        [''],
        'cam1',
        [3],
        ['x'.repeat(65)],
        null,
      ],
      types: [['event'], ['segment', 'status'], ['events'], [], 'event', [null]],
      labels: [['dog'], ['a', 'b'], [''], ['x'.repeat(129)], [], [1], 'dog'],
      minConfidence: [0, 0.5, 1, -0.01, 1.01, '0.5', null, NaN],
      since: [0, 1, 42, -1, 1.5, '3', null, 2 ** 53],
      extra: [1, 'x'],
    };
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      const msg: Record<string, unknown> = {};
      for (const [key, values] of Object.entries(pools)) {
        if (key === 'op' ? rng.bool(0.95) : rng.bool(key === 'extra' ? 0.05 : 0.3))
          msg[key] = rng.pick(values);
      }
      const text = JSON.stringify(msg); // NaN becomes null, as on the wire
      const wire = JSON.parse(text) as { op?: unknown };
      const validate = typeof wire.op === 'string' ? clientValidators.get(wire.op) : undefined;
      const schemaSays = validate ? validate(wire) : false;
      let parserSays = true;
      try {
        parseClientMessage(text);
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError);
        parserSays = false;
      }
      expect(parserSays, text).toBe(schemaSays);
      if (parserSays) accepted++;
    }
    expect(accepted).toBeGreaterThan(100); // both outcomes were exercised
    expect(accepted).toBeLessThan(4900);
  });

  it('throws ProtocolError with a code for non-JSON and non-objects', () => {
    for (const [text, code] of [
      ['', 'invalid-json'],
      ['{"op":', 'invalid-json'],
      ['null', 'invalid-message'],
      ['[]', 'invalid-message'],
      ['7', 'invalid-message'],
    ] as const) {
      let err: unknown;
      try {
        parseClientMessage(text);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).code).toBe(code);
    }
  });
});

describe('message builders', () => {
  it('turn the shared data contracts into schema-valid messages', () => {
    const seq = { seq: 1 };
    const ev = eventMessage({
      id: 'e1',
      stream: 'cam1',
      label: 'dog',
      modality: 'visual',
      phase: 'end',
      start: 2,
      end: 5,
      wallclockStart: 1_000_000,
      confidence: 0.87654321,
    });
    expect(ev).toMatchObject({ mediaTime: 5, wallclock: 1_003_000, confidence: 0.8765 });
    const seg = segmentMessage({
      stream: 'cam1',
      index: 4,
      t0: 4,
      t1: 5,
      wallclock: 5000,
      classes: ['a', 'b'],
      audio: new Float32Array([0.123456, 1]),
      visual: new Float32Array([0, 0.5]),
      audioVisual: new Float32Array([0, 0.25]),
    });
    expect(seg).toMatchObject({ mediaTime: 4, duration: 1, audio: [0.1235, 1] });
    const status = statusMessage({
      stream: 'cam1',
      state: 'down',
      at: 9,
      reason: 'ffmpeg exited',
      restarts: 0,
      dropped: 3,
    });
    for (const msg of [ev, seg, status]) expect(schemaProblem({ ...seq, ...msg })).toBeUndefined();
    expect(schemaProblem({ ...seq, ...ev, extra: 1 })).toMatch(/additional/);
  });
});

describe('builders refuse and mask', () => {
  it('refuse non-finite probabilities, naming where they are', () => {
    const p = {
      stream: 'cam1',
      index: 4,
      t0: 4,
      t1: 5,
      wallclock: 0,
      classes: ['a', 'b'],
      audio: new Float32Array([0.5, NaN]),
      visual: new Float32Array(2),
      audioVisual: new Float32Array(2),
    };
    expect(() => segmentMessage(p)).toThrow('segment cam1#4 audio[1] is NaN');
    const e = { id: 'e', stream: 's', label: 'l', modality: 'audio', phase: 'start', start: 0 } as const;
    expect(() => eventMessage({ ...e, wallclockStart: 0, confidence: Infinity })).toThrow(
      /event e confidence/,
    );
  });

  it('mask credentials of URLs quoted in status reasons', () => {
    const reason = 'rtsp://admin:hunter2@10.0.0.5/live: Connection refused; retry rtsps://tok@h/x';
    const msg = statusMessage({ stream: 'cam1', state: 'down', at: 0, reason, restarts: 0, dropped: 0 });
    expect(msg.reason).toBe('rtsp://***@10.0.0.5/live: Connection refused; retry rtsps://***@h/x');
    // Masking errs on the side of hiding: an '@' in a path is taken for the end of credentials.
    expect(redactUrl('./clip.mp4 and http://host/a@b')).toBe('./clip.mp4 and http://***@b');
    expect(redactUrl('rtsp://10.0.0.5/live')).toBe('rtsp://10.0.0.5/live');
  });
});

describe('stream names', () => {
  it('are configured names, never URLs or paths', () => {
    for (const ok of ['cam1', 'Front-Door', 'a.b_c', '0'.repeat(64)])
      expect(streamNameProblem(ok)).toBeUndefined();
    for (const bad of ['rtsp://u:p@h/s', 'file:a.mp4', './a.mp4', 'user@host', 'cam1:554', '/dev/video0']) {
      const problem = streamNameProblem(bad);
      expect(problem, bad).toMatch(/looks like a URL/);
      expect(problem).not.toContain(bad); // a URL may hold credentials: never echoed
    }
    expect(streamNameProblem('')).toMatch(/empty/);
    expect(streamNameProblem('a'.repeat(65))).toMatch(/longer than 64/);
    expect(streamNameProblem('-cam')).toMatch(/starting with a letter or digit/);
    expect(streamNameProblem('cam 1')).toMatch(/only letters/);
  });
});

describe('resume buffer', () => {
  const msg = (seq: number, bytes: number) => ({
    seq,
    key: { type: 'status' as const, stream: 's' },
    data: Buffer.alloc(bytes),
  });

  it('holds at most maxMessages and maxBytes, evicting the oldest first', () => {
    const b = new ResumeBuffer(3, 100);
    expect(b.oldestSeq).toBeUndefined();
    expect(b.push(msg(1, 10))).toEqual([]);
    b.push(msg(2, 10));
    b.push(msg(3, 10));
    expect(b.push(msg(4, 10)).map((m) => m.seq)).toEqual([1]);
    expect([b.oldestSeq, b.size, b.bytes]).toEqual([2, 3, 30]);
    expect(b.push(msg(5, 90)).map((m) => m.seq)).toEqual([2, 3]);
    expect([b.oldestSeq, b.size, b.bytes]).toEqual([4, 2, 100]);
    expect(b.get(3)).toBeUndefined();
    expect(b.get(5)!.seq).toBe(5);
    expect(b.get(6)).toBeUndefined();
    for (let s = 6; s < 50; s++) b.push(msg(s, 5));
    expect([b.oldestSeq, b.size]).toEqual([47, 3]);
    expect([47, 48, 49].map((s) => b.get(s)!.seq)).toEqual([47, 48, 49]);
  });

  it('refuses bad bounds and messages that can never fit', () => {
    expect(() => new ResumeBuffer(0, 10)).toThrow(/maxMessages/);
    expect(() => new ResumeBuffer(1.5, 10)).toThrow(/maxMessages/);
    expect(() => new ResumeBuffer(3, 0)).toThrow(/maxBytes/);
    expect(() => new ResumeBuffer(3, 10).push(msg(1, 11))).toThrow(/exceeds the resume buffer/);
  });
});

describe('metrics', () => {
  it('refuse stream labels that look like URLs', () => {
    const m = new Metrics({ processMetrics: false });
    expect(() => m.addStream('rtsp://admin:pw@cam/1')).toThrow(/looks like a URL/);
    expect(() => m.segmentParsed('http://x')).toThrow(/looks like a URL/);
    expect(() => m.streamStatus({ stream: 'a/b', state: 'up', at: 0, restarts: 0, dropped: 0 })).toThrow(
      /URL/,
    );
  });

  it('measure latency from segment end to sending', async () => {
    const m = new Metrics({ processMetrics: false });
    m.observeLatency('cam1', 10_000, 10_300);
    m.observeLatency('cam1', 10_000, 9_000); // a clock step backwards counts as 0, never negative
    const values = (await m.segmentLatency.get()).values;
    const bucket = (le: number) =>
      values.find((v) => (v.labels as Record<string, unknown>).le === le && v.metricName?.endsWith('_bucket'))
        ?.value;
    expect(bucket(0.05)).toBe(1);
    expect(bucket(0.25)).toBe(1);
    expect(bucket(0.5)).toBe(2);
  });
});

describe('docs/protocol.md', () => {
  it('shows each JSON Schema exactly as the code defines it', () => {
    const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
    const blocks = new Map<string, unknown>();
    for (const m of doc.matchAll(/<!-- schema: (\w+) -->\s*```json\n([\s\S]*?)```/g)) {
      blocks.set(m[1]!, JSON.parse(m[2]!));
    }
    const all = { ...serverSchemas, ...clientSchemas };
    expect([...blocks.keys()].sort()).toEqual(Object.keys(all).sort());
    for (const [name, schema] of Object.entries(all)) expect(blocks.get(name), name).toEqual(schema);
  });

  it('gives an example of every message that satisfies its schema', () => {
    const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
    const names: string[] = [];
    for (const m of doc.matchAll(/<!-- example: (\w+) -->\s*```json\n([\s\S]*?)```/g)) {
      const example = JSON.parse(m[2]!) as { op: string; type?: string };
      names.push(m[1]!);
      if (example.type === undefined) {
        expect(clientValidators.get(example.op)!(example), m[1]).toBe(true);
        expect(() => parseClientMessage(m[2]!)).not.toThrow();
      } else {
        expect(schemaProblem(example), m[1]).toBeUndefined();
      }
    }
    expect(names.sort()).toEqual(Object.keys({ ...serverSchemas, ...clientSchemas }).sort());
  });
});
