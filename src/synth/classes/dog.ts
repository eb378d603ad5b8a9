// Dog: barks — short harmonic bursts with a falling pitch and some breath noise; the sprite is a
// dog that lifts its head and opens its mouth on every bark.
import { gate, harmonics, hashNoise, lookup, regularPulses, sampleAt, wavetable } from '../dsp.js';
import { sincePulse, type ClassSpec } from './spec.js';

type DogParams = {
  f0: number;
  bark: number;
  period: number;
};

/** The sprite's dominant colour. */
const COLOR = [140, 90, 45] as const;

export const dog: ClassSpec<DogParams> = {
  name: 'Dog',
  band: [350, 3500],
  drives: false,
  color: COLOR,
  params: (rng) => ({
    f0: rng.uniform(450, 650),
    bark: rng.uniform(0.12, 0.2),
    period: rng.uniform(0.3, 0.45),
  }),
  pulses: (rng, p, start, end) => regularPulses(() => rng.next(), start, end, p.period, 0.3),
  halfSize: () => [45, 30],
  render(out, sr, s) {
    const { f0, bark } = s.params;
    const table = wavetable(harmonics(f0 * 1.15, sr, 3500, (_, k) => 1 / k));
    const i0 = sampleAt(s.start, sr, out.length);
    const i1 = sampleAt(s.end, sr, out.length);
    let phase = 0;
    for (let i = i0; i < i1; i++) {
      const t = i / sr;
      const u = sincePulse(s.pulses, t) / bark;
      if (u >= 1) continue;
      phase += (1 - 0.3 * u) * ((f0 * 1.15) / sr); // pitch falls through the bark
      const env = Math.min(1, u * 40) * (1 - u) * Math.sqrt(1 - u);
      const x = lookup(table, phase) + 0.3 * hashNoise(s.seed, i);
      out[i] += 0.35 * s.gain * gate(t, s.start, s.end) * env * x;
    }
  },
  draw(c, d) {
    const { x, y, scale: k, facing: f } = d;
    const barking = d.sounding && sincePulse(d.pulses, d.t) < d.params.bark;
    const dark: [number, number, number] = [90, 55, 25];
    for (const lx of [-20, -10, 12, 22])
      c.fillRect(x + (lx - 3) * k, y + 12 * k, x + (lx + 3) * k, y + 30 * k, dark);
    c.line(x - 28 * f * k, y, x - 40 * f * k, y - 14 * k, 4 * k, dark); // tail
    c.fillEllipse(x, y + 6 * k, 30 * k, 14 * k, COLOR);
    const hy = y - (barking ? 14 : 10) * k;
    c.fillEllipse(x + 30 * f * k, hy, 13 * k, 11 * k, COLOR);
    c.fillEllipse(x + 24 * f * k, hy - 8 * k, 5 * k, 8 * k, dark); // ear
    if (barking)
      c.fillRect(
        x + Math.min(34 * f, 44 * f) * k,
        hy + 2 * k,
        x + Math.max(34 * f, 44 * f) * k,
        hy + 9 * k,
        [40, 10, 10],
      );
  },
};
