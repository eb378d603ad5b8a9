// The whole operator chain with real onnxruntime sessions in the worker pool: segments with known
// content -> overload -> encode (ONNX encoders) -> window -> predictSegments (ONNX head, lookahead 2) ->
// decodeEvents. The models are tiny but real graphs built with the project's builder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { from, lastValueFrom, mergeMap, toArray } from 'rxjs';
import { Graph } from '../../src/engine/onnx/builder.js';
import { InferencePool } from '../../src/pool/pool.js';
import type { TensorMap } from '../../src/types.js';
import { createSharedBatcher } from '../../src/operators/batch.js';
import { decodeEvents } from '../../src/operators/decodeEvents.js';
import { encode, type AudioEncoder, type VisualEncoder } from '../../src/operators/encode.js';
import { onnxWindowHead } from '../../src/operators/onnxHead.js';
import { overload } from '../../src/operators/overload.js';
import { predictSegments } from '../../src/operators/predictSegments.js';
import { slidingWindow } from '../../src/operators/window.js';
import type { Features, Segment } from '../../src/types.js';

const CLASSES = ['dog', 'car'];

/** Audio "encoder": the mean of each half of 8 PCM samples -> 2 features. */
function audioEncoderModel(): Uint8Array {
  const g = new Graph({ name: 'audio-encoder' });
  const pcm = g.input('pcm', 'float32', ['batch', 8]);
  const w = g.param('w', [8, 2], [0.25, 0, 0.25, 0, 0.25, 0, 0.25, 0, 0, 0.25, 0, 0.25, 0, 0.25, 0, 0.25]);
  g.output(g.matmul(pcm, w), 'features');
  return g.toBytes();
}

/** Visual "encoder": two uint8 pixels -> 2 features in [0, 1]. */
function visualEncoderModel(): Uint8Array {
  const g = new Graph({ name: 'visual-encoder' });
  const pixels = g.input('pixels', 'uint8', ['batch', 2]);
  g.output(g.div(g.cast(pixels, 'float32'), 255), 'features');
  return g.toBytes();
}

/** Head: per segment, p = sigmoid(10 f - 5) for each modality (feature c drives class c). */
function headModel(): Uint8Array {
  const g = new Graph({ name: 'head' });
  const prob = (x: ReturnType<Graph['input']>) => g.sigmoid(g.sub(g.mul(x, 10), 5));
  g.output(prob(g.input('audio', 'float32', ['batch', 10, 2])), 'audio_probs');
  g.output(prob(g.input('visual', 'float32', ['batch', 10, 2])), 'visual_probs');
  return g.toBytes();
}

/** 12 seconds: a dog is heard in seconds 2-5 and seen in 3-5; a car is seen (not heard) in 4-8. */
function segments(stream: string): Segment[] {
  return Array.from({ length: 12 }, (_, k) => {
    const dog = k >= 2 && k <= 5 ? 1 : 0;
    const car = k >= 4 && k <= 8 ? 255 : 0;
    return {
      stream,
      index: k,
      t0: k,
      t1: k + 1,
      wallclock: 1_700_000_000_000 + k * 1000,
      audio: Float32Array.of(dog, dog, dog, dog, 0, 0, 0, 0),
      frames: [Uint8Array.of(k >= 3 && k <= 5 ? 255 : 0, car)],
      sampleRate: 8,
      width: 2,
      height: 1,
      fps: 1,
    };
  });
}

const rows = (t: TensorMap[string]) => {
  const d = t.dims[1];
  return Array.from({ length: t.dims[0] }, (_, b) => (t.data as Float32Array).slice(b * d, (b + 1) * d));
};

describe('operator chain on real onnxruntime sessions', () => {
  let pool: InferencePool;

  beforeAll(async () => {
    pool = await InferencePool.create({
      models: { audio: audioEncoderModel(), visual: visualEncoderModel(), head: headModel() },
      size: 2,
      providers: ['cpu'],
    });
  });

  afterAll(() => pool?.close());

  it('finds the audible, visible and audio-visual events of two streams at the right times', async () => {
    const audio: AudioEncoder = async (segs) => {
      const pcm = new Float32Array(segs.length * 8);
      segs.forEach((s, i) => pcm.set(s.audio!, i * 8));
      const { features } = await pool.run('audio', {
        pcm: { type: 'float32', data: pcm, dims: [segs.length, 8] },
      });
      return rows(features);
    };
    const visual: VisualEncoder = async (segs) => {
      const pixels = new Uint8Array(segs.length * 2);
      segs.forEach((s, i) => pixels.set(s.frames![0], i * 2));
      const { features } = await pool.run('visual', {
        pixels: { type: 'uint8', data: pixels, dims: [segs.length, 2] },
      });
      return rows(features).map((v) => ({ visual: v }));
    };
    const head = onnxWindowHead((feeds) => pool.run('head', feeds), {
      audioInput: 'audio',
      visualInput: 'visual',
      audioDim: 2,
      visualDim: 2,
      audioOutput: 'audio_probs',
      visualOutput: 'visual_probs',
    });
    const dropped: number[] = [];
    const input = [...segments('cam1'), ...segments('cam2')];
    const events = await lastValueFrom(
      from(input).pipe(
        overload((s: Segment) => [s], { mode: 'process-all', onDrop: (s) => dropped.push(s.index) }),
        encode({ audio, visual }, { maxBatch: 4, maxWaitMs: 1, concurrency: 2 }),
        slidingWindow<Features>(10),
        predictSegments({ head, classes: CLASSES, lookahead: 2, batch: { maxBatch: 4, maxWaitMs: 1 } }),
        decodeEvents({ thresholds: { on: 0.5, off: 0.3 } }),
        toArray(),
      ),
    );
    expect(dropped).toEqual([]);
    for (const stream of ['cam1', 'cam2']) {
      const closed = events
        .filter((e) => e.stream === stream && e.phase === 'end')
        .map((e) => `${e.modality} ${e.label} ${e.start}-${e.end}`)
        .sort();
      expect(closed).toEqual(['audio dog 2-6', 'audio-visual dog 3-6', 'visual car 4-9', 'visual dog 3-6']);
    }
    const start = events.find((e) => e.stream === 'cam2' && e.phase === 'start' && e.label === 'car')!;
    expect(start).toMatchObject({ id: 'cam2:visual:car:4', wallclockStart: 1_700_000_004_000 });
    expect(start.confidence).toBeGreaterThan(0.99);
  });

  it('batches the windows of separate per-stream pipelines together through a shared batcher', async () => {
    const head = onnxWindowHead((feeds) => pool.run('head', feeds), {
      audioInput: 'audio',
      visualInput: 'visual',
      audioDim: 2,
      visualDim: 2,
      audioOutput: 'audio_probs',
      visualOutput: 'visual_probs',
    });
    const features = (stream: string): Features[] =>
      segments(stream).map((s) => ({
        stream,
        index: s.index,
        t0: s.t0,
        t1: s.t1,
        wallclock: s.wallclock,
        audio: Float32Array.of(s.audio![0], 0),
      }));
    const sizes: number[] = [];
    const shared = createSharedBatcher(head, { maxBatch: 4, maxWaitMs: 5, onBatch: (n) => sizes.push(n) });
    const streams = ['a', 'b', 'c', 'd'];
    const perStream = await lastValueFrom(
      from(streams).pipe(
        mergeMap((name) =>
          from(features(name)).pipe(
            slidingWindow<Features>(10),
            // As live: each stream hands over one window at a time; batching happens across streams.
            predictSegments({
              head: shared.run,
              classes: CLASSES,
              lookahead: 0,
              batch: { maxBatch: 1, maxWaitMs: 0 },
            }),
            decodeEvents(),
            toArray(),
          ),
        ),
        toArray(),
      ),
    );
    shared.close();
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(48);
    expect(sizes[0]).toBe(4); // the four streams' first windows went out as one batch
    for (const events of perStream) {
      // Visual features are absent here: the head sees zeros and reports nothing visible.
      expect(
        events.filter((e) => e.phase === 'end').map((e) => `${e.modality} ${e.label} ${e.start}-${e.end}`),
      ).toEqual(['audio dog 2-6']);
    }
  });

  it('reports a head whose features have the wrong size', async () => {
    const head = onnxWindowHead((feeds) => pool.run('head', feeds), {
      audioInput: 'audio',
      visualInput: 'visual',
      audioDim: 2,
      visualDim: 2,
      audioOutput: 'audio_probs',
      visualOutput: 'visual_probs',
    });
    const wrong: Features = { stream: 'x', index: 0, t0: 0, t1: 1, wallclock: 0, audio: new Float32Array(5) };
    await expect(
      lastValueFrom(
        from([wrong]).pipe(slidingWindow<Features>(10), predictSegments({ head, classes: CLASSES })),
      ),
    ).rejects.toThrow(/segment 0 has 5-d audio features but the head expects 2/);
    const misnamed = onnxWindowHead((feeds) => pool.run('head', feeds), {
      audioInput: 'audio',
      visualInput: 'visual',
      audioDim: 2,
      visualDim: 2,
      audioOutput: 'probs',
      visualOutput: 'visual_probs',
    });
    const ok: Features = { ...wrong, audio: new Float32Array(2) };
    await expect(
      lastValueFrom(
        from([ok]).pipe(slidingWindow<Features>(10), predictSegments({ head: misnamed, classes: CLASSES })),
      ),
    ).rejects.toThrow(/no output 'probs' \(outputs: audio_probs, visual_probs\)/);
  });
});
