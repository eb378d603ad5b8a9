// Basketball_bounce: a low thud with a click at every floor impact; the sprite is an orange ball
// whose bounce touches the floor exactly at the impacts, and rests on the floor when silent.
import { decayTable, gate, hashNoise, regularPulses, sampleAt, sine } from '../dsp.js';
import { lastPulse, type ClassSpec } from './spec.js';

type BallParams = {
  period: number;
  thud: number;
  height: number;
};

const R = 14;

/** The sprite's dominant colour. */
const COLOR = [235, 110, 25] as const;

export const basketball: ClassSpec<BallParams> = {
  name: 'Basketball_bounce',
  band: [60, 250],
  drives: false,
  color: COLOR,
  params: (rng) => ({
    period: rng.uniform(0.4, 0.55),
    thud: rng.uniform(90, 140),
    height: rng.uniform(50, 70),
  }),
  pulses: (rng, p, start, end) => regularPulses(() => rng.next(), start, end, p.period, 0.05),
  halfSize: (p) => [R + 2, R + p.height / 2],
  render(out, sr, s) {
    const i0 = sampleAt(s.start, sr, out.length);
    const i1 = sampleAt(s.end, sr, out.length);
    const thudDecay = decayTable(0.07, sr, 0.35);
    const clickDecay = decayTable(0.003, sr, 0.35);
    for (let i = i0; i < i1; i++) {
      const t = i / sr;
      const j = lastPulse(s.pulses, t);
      if (j < 0) continue;
      const u = t - s.pulses[j];
      if (u > 0.35) continue;
      const n = Math.round(u * sr); // samples since the impact
      const thud = sine(s.params.thud * u * (1 - 0.3 * u)) * thudDecay[n];
      const click = 0.4 * hashNoise(s.seed, i) * clickDecay[n];
      out[i] += 0.5 * s.gain * gate(t, s.start, s.end, 0.002) * (thud + click);
    }
  },
  draw(c, d) {
    const { x, y, scale: k } = d;
    const floor = y + (R + d.params.height / 2) * k;
    let lift = 0;
    const j = d.sounding ? lastPulse(d.pulses, d.t) : -1;
    if (j >= 0) {
      const next = j + 1 < d.pulses.length ? d.pulses[j + 1] : d.pulses[j] + d.params.period;
      const u = (d.t - d.pulses[j]) / (next - d.pulses[j]);
      lift = 4 * u * (1 - u) * d.params.height * k;
    }
    c.fillEllipse(x, floor - 2 * k, (R - (lift / (d.params.height * k)) * 6) * k, 2 * k, [60, 40, 30]); // shadow
    const cy = floor - R * k - lift;
    c.fillEllipse(x, cy, R * k, R * k, COLOR);
    c.line(x - R * k, cy, x + R * k, cy, 1.5 * k, [30, 20, 10]);
    c.line(x, cy - R * k, x, cy + R * k, 1.5 * k, [30, 20, 10]);
  },
};
