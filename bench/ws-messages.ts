// The segment messages the WebSocket benchmarks publish: 25 classes (as LLP), deterministic
// probabilities, the same size as the runtime's real `segment` messages.
import { segmentMessage, type Publishable } from '../src/sinks/protocol.js';

export const BENCH_CLASSES = Array.from({ length: 25 }, (_, i) => `class${i}`);

/** The i-th benchmark segment message of `stream`. */
export function benchSegment(i: number, stream: string): Publishable {
  const probs = () => new Float32Array(BENCH_CLASSES.map((_, c) => ((i * 31 + c * 17) % 100) / 100));
  return segmentMessage({
    stream,
    index: i,
    t0: i,
    t1: i + 1,
    wallclock: Date.now(),
    classes: BENCH_CLASSES,
    audio: probs(),
    visual: probs(),
    audioVisual: probs(),
  });
}
