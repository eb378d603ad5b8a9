// Motorcycle: a buzzy engine at a higher firing rate whose pitch climbs through the gears; the
// sprite is a red motorcycle with a rider that drives while it sounds.
import { gate, harmonics, lookup, sampleAt, wavetable } from '../dsp.js';
import type { ClassSpec } from './spec.js';

type MotorcycleParams = {
  firing: number;
  gearTime: number;
};

/** The sprite's dominant colour. */
const COLOR = [210, 30, 30] as const;

export const motorcycle: ClassSpec<MotorcycleParams> = {
  name: 'Motorcycle',
  band: [60, 1500],
  drives: true,
  color: COLOR,
  params: (rng) => ({ firing: rng.uniform(70, 110), gearTime: rng.uniform(1.5, 2.5) }),
  pulses: () => [],
  halfSize: () => [34, 30],
  render(out, sr, s) {
    const { firing, gearTime } = s.params;
    const table = wavetable(harmonics(firing * 1.3, sr, 3000, (_, k) => 1 / k ** 0.4));
    const i0 = sampleAt(s.start, sr, out.length);
    const i1 = sampleAt(s.end, sr, out.length);
    let phase = 0;
    for (let i = i0; i < i1; i++) {
      const t = i / sr;
      const gear = (t - s.start) / gearTime;
      // table holds the top pitch; the phase rate sweeps 0.77..1 of it within each gear
      phase += ((1 + 0.3 * (gear - Math.floor(gear))) / 1.3) * ((firing * 1.3) / sr);
      out[i] += 0.25 * s.gain * gate(t, s.start, s.end, 0.05) * lookup(table, phase);
    }
  },
  draw(c, d) {
    const { x, y, scale: k, facing: f } = d;
    for (const wx of [-22, 22]) {
      c.fillEllipse(x + wx * k, y + 18 * k, 12 * k, 12 * k, [20, 20, 20]);
      c.fillEllipse(x + wx * k, y + 18 * k, 6 * k, 6 * k, [140, 140, 140]);
    }
    c.line(x - 22 * f * k, y + 18 * k, x + 4 * f * k, y + 2 * k, 4 * k, COLOR);
    c.line(x + 4 * f * k, y + 2 * k, x + 22 * f * k, y + 18 * k, 4 * k, COLOR);
    c.fillEllipse(x + 4 * f * k, y + 2 * k, 14 * k, 6 * k, COLOR); // tank
    c.line(x - 4 * f * k, y - 2 * k, x + 2 * f * k, y - 20 * k, 7 * k, [50, 50, 60]); // rider
    c.fillEllipse(x + 4 * f * k, y - 24 * k, 6 * k, 6 * k, [240, 200, 0]); // helmet
  },
};
