// Car: low engine harmonics over road rumble; the sprite is a car that drives while it sounds
// and stands parked (silent) otherwise.
import { LowPass, gate, harmonics, hashNoise, lookup, sampleAt, sine, wavetable } from '../dsp.js';
import type { ClassSpec } from './spec.js';

type CarParams = {
  firing: number;
};

/** The sprite's dominant colour. */
const COLOR = [30, 70, 200] as const;

export const car: ClassSpec<CarParams> = {
  name: 'Car',
  band: [20, 250],
  drives: true,
  color: COLOR,
  params: (rng) => ({ firing: rng.uniform(25, 40) }),
  pulses: () => [],
  halfSize: () => [44, 23],
  render(out, sr, s) {
    const { firing } = s.params;
    const table = wavetable(harmonics(firing, sr, 700, (_, k) => 1 / k ** 0.7));
    const rumble = new LowPass(150, sr);
    const i0 = sampleAt(s.start, sr, out.length);
    const i1 = sampleAt(s.end, sr, out.length);
    let phase = 0;
    for (let i = i0; i < i1; i++) {
      const t = i / sr;
      phase += (firing * (1 + 0.03 * sine(0.3 * t))) / sr;
      const x = 0.7 * lookup(table, phase) + 1.2 * rumble.step(hashNoise(s.seed, i));
      out[i] += 0.3 * s.gain * gate(t, s.start, s.end, 0.05) * x;
    }
  },
  draw(c, d) {
    const { x, y, scale: k, facing: f } = d;
    c.fillRect(x - 44 * k, y - 4 * k, x + 44 * k, y + 14 * k, COLOR);
    c.fillRect(
      x + Math.min(-24 * f, 20 * f) * k,
      y - 20 * k,
      x + Math.max(-24 * f, 20 * f) * k,
      y - 4 * k,
      COLOR,
    );
    c.fillRect(
      x + Math.min(-20 * f, -3 * f) * k,
      y - 17 * k,
      x + Math.max(-20 * f, -3 * f) * k,
      y - 5 * k,
      [170, 220, 240],
    );
    c.fillRect(
      x + Math.min(2 * f, 17 * f) * k,
      y - 17 * k,
      x + Math.max(2 * f, 17 * f) * k,
      y - 5 * k,
      [170, 220, 240],
    );
    c.fillRect(x + (f > 0 ? 38 : -44) * k, y, x + (f > 0 ? 44 : -38) * k, y + 5 * k, [250, 230, 90]); // headlight
    for (const wx of [-28, 28]) {
      c.fillEllipse(x + wx * k, y + 14 * k, 9 * k, 9 * k, [20, 20, 20]);
      c.fillEllipse(x + wx * k, y + 14 * k, 4 * k, 4 * k, [160, 160, 160]);
    }
  },
};
