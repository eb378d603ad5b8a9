// Clapping: short band-passed noise bursts; the sprite is a pair of hands that meet exactly at
// each clap.
import { BandPass, decayTable, gate, hashNoise, regularPulses, sampleAt } from '../dsp.js';
import { lastPulse, type ClassSpec } from './spec.js';

type ClappingParams = {
  period: number;
  center: number;
};

const GAP = 36; // hand separation at rest, pixels at scale 1

/** The sprite's dominant colour. */
const COLOR = [190, 130, 95] as const;

export const clapping: ClassSpec<ClappingParams> = {
  name: 'Clapping',
  band: [1000, 5000],
  drives: false,
  color: COLOR,
  params: (rng) => ({ period: rng.uniform(0.22, 0.35), center: rng.uniform(1500, 2500) }),
  pulses: (rng, p, start, end) => regularPulses(() => rng.next(), start, end, p.period, 0.15),
  halfSize: () => [GAP / 2 + 12, 26],
  render(out, sr, s) {
    const filter = new BandPass(s.params.center, 1.2, sr);
    const i0 = sampleAt(s.start, sr, out.length);
    const i1 = sampleAt(s.end, sr, out.length);
    const decay = decayTable(0.012, sr, 0.15);
    for (let i = i0; i < i1; i++) {
      const t = i / sr;
      const j = lastPulse(s.pulses, t);
      const n = j < 0 ? decay.length : Math.round((t - s.pulses[j]) * sr); // samples since the clap
      const burst = n < decay.length ? decay[n] : 0;
      const y = filter.step(burst * hashNoise(s.seed, i));
      out[i] += 1.2 * s.gain * gate(t, s.start, s.end, 0.002) * y;
    }
  },
  draw(c, d) {
    const { x, y, scale: k } = d;
    let gap = GAP;
    if (d.sounding) {
      // distance to the nearest clap, as a fraction of half a period
      const j = lastPulse(d.pulses, d.t);
      const prev = j < 0 ? Infinity : d.t - d.pulses[j];
      const next = j + 1 < d.pulses.length ? d.pulses[j + 1] - d.t : Infinity;
      gap = GAP * Math.min(1, Math.min(prev, next) / (d.params.period / 2));
    }
    for (const side of [-1, 1]) {
      const inner = x + side * (gap / 2) * k;
      const outer = x + side * (gap / 2 + 12) * k;
      c.fillRect(Math.min(inner, outer), y - 26 * k, Math.max(inner, outer), y + 10 * k, COLOR);
      c.fillRect(Math.min(inner, outer), y + 10 * k, Math.max(inner, outer), y + 26 * k, [235, 235, 235]);
    }
  },
};
