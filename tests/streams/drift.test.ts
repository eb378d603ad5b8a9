// No drift over an hour: one hour of generated input (NTSC 30000/1001 fps video, 44.1 kHz
// audio, both converted to the output grids) decoded at full speed, with markers near the end
// that must land in exactly the right segment, to the frame and within a few samples.
import { describe, expect, it } from 'vitest';
import { fromMedia } from '../../src/streams/fromMedia.js';
import type { Segment } from '../../src/types.js';
import { meanRgb, rms } from '../helpers/media.js';

const HOUR = 3600;
// Video marker: white for source times [3596.97, 3597.97). At 29.97 fps the output frame for
// time t (8 fps grid) comes from the source frame nearest t (within 1/60 s), so exactly the 8
// frames of segment 3597 are white when nothing drifts; any drift of 1/8 s moves a frame.
const video =
  `color=c=black:s=32x32:r=30000/1001:d=${HOUR},` +
  `drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='gte(t,3596.97)*lt(t,3597.97)'`;
// Audio marker: a 440 Hz tone exactly in [3594, 3595), silence elsewhere (10 ms frames).
const audio = `sine=f=440:r=44100:samples_per_frame=441:d=${HOUR},volume=0:enable='not(gte(t,3594)*lt(t,3595))'`;

describe('one hour of input', () => {
  it('keeps audio and video on the segment grid to the end', { timeout: 120_000 }, async () => {
    const kept = new Map<number, Segment>();
    let count = 0;
    let framesOk = true;
    await new Promise<void>((resolve, reject) =>
      fromMedia(`lavfi:${video}[out0];${audio}[out1]`, { width: 32, height: 32, fps: 8 }).subscribe({
        next: (s) => {
          if (s.index !== count++ || s.frames?.length !== 8 || s.audio?.length !== 16000) framesOk = false;
          if (s.index >= 3592) kept.set(s.index, s);
        },
        error: reject,
        complete: resolve,
      }),
    );
    expect(count).toBe(HOUR);
    expect(framesOk).toBe(true);

    const white = (k: number) =>
      kept
        .get(k)!
        .frames!.map((f) => (meanRgb(f)[0] > 128 ? 1 : 0))
        .join('');
    expect([3596, 3597, 3598].map(white)).toEqual(['00000000', '11111111', '00000000']);

    const tone = kept.get(3594)!.audio!;
    expect(rms(tone)).toBeCloseTo(0.125 / Math.SQRT2, 2);
    for (const k of [3593, 3595]) expect(rms(kept.get(k)!.audio!)).toBeLessThan(0.005);
    // onset and end of the tone within a few samples of the segment edges (16 samples = 1 ms)
    const loud = (x: number) => Math.abs(x) > 0.02;
    expect(tone.findIndex(loud)).toBeLessThan(16);
    expect(tone.findLastIndex(loud)).toBeGreaterThan(16000 - 16);
  });
});
