// Helicopter: blade slaps (decaying low-passed noise bursts) at the blade-pass rate over a faint
// turbine whine; the sprite's rotor spins while it sounds.
import { LowPass, decayTable, gate, hashNoise, sampleAt, sine } from '../dsp.js';
import type { ClassSpec } from './spec.js';

type HelicopterParams = {
  bladeRate: number;
  whine: number;
};

/** The sprite's dominant colour. */
const COLOR = [35, 130, 35] as const;

const MIN_BLADE_RATE = 13; // Hz

export const helicopter: ClassSpec<HelicopterParams> = {
  name: 'Helicopter',
  band: [30, 900],
  drives: false,
  color: COLOR,
  params: (rng) => ({ bladeRate: rng.uniform(MIN_BLADE_RATE, 19), whine: rng.uniform(1500, 2200) }),
  pulses: () => [],
  halfSize: () => [62, 26],
  render(out, sr, s) {
    const { bladeRate, whine } = s.params;
    const lp = new LowPass(900, sr);
    const i0 = sampleAt(s.start, sr, out.length);
    const i1 = sampleAt(s.end, sr, out.length);
    const decay = decayTable(0.012, sr, 1 / MIN_BLADE_RATE); // long enough for any blade period
    for (let i = i0; i < i1; i++) {
      const t = i / sr;
      const cycles = (t - s.start) * bladeRate;
      const u = (cycles - Math.floor(cycles)) / bladeRate; // seconds since the last blade pass
      const slap = lp.step(hashNoise(s.seed, i) * decay[Math.round(u * sr)]);
      const x = 2.5 * slap + 0.04 * sine(whine * t);
      out[i] += 0.35 * s.gain * gate(t, s.start, s.end, 0.05) * x;
    }
  },
  draw(c, d) {
    const { x, y, scale: k } = d;
    c.line(x - 20 * k, y, x - 58 * k, y - 6 * k, 5 * k, COLOR); // tail boom
    c.fillEllipse(x - 58 * k, y - 6 * k, 4 * k, 8 * k, [70, 70, 70]); // tail rotor
    c.fillRect(x - 22 * k, y + 20 * k, x + 22 * k, y + 23 * k, [40, 40, 40]); // skids
    c.fillEllipse(x, y + 2 * k, 30 * k, 14 * k, COLOR);
    c.fillEllipse(x + 16 * k, y, 10 * k, 8 * k, [150, 200, 220]); // cockpit
    c.fillRect(x - 2 * k, y - 20 * k, x + 2 * k, y - 12 * k, [40, 40, 40]); // mast
    // the rotor seen from the side: its apparent length follows the blade angle
    const angle = d.sounding ? Math.PI * d.params.bladeRate * d.t : 0;
    const half = Math.max(6, 60 * Math.abs(Math.cos(angle))) * k;
    c.fillRect(x - half, y - 23 * k, x + half, y - 20 * k, [60, 60, 60]);
  },
};
