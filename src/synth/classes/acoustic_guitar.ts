// Acoustic_guitar: plucked notes (decaying harmonic tones) on a pentatonic scale; the sprite is a
// guitar whose strings vibrate right after each pluck.
import {
  decayTable,
  gate,
  harmonics,
  hashNoise,
  lookup,
  regularPulses,
  sampleAt,
  wavetable,
} from '../dsp.js';
import { sincePulse, type ClassSpec } from './spec.js';

type GuitarParams = {
  period: number;
  root: number;
};

const SCALE = [1, 9 / 8, 5 / 4, 3 / 2, 5 / 3, 2];
const RING = 1.0; // seconds a note is rendered after its pluck

/** The sprite's dominant colour. */
const COLOR = [205, 150, 80] as const;

export const acousticGuitar: ClassSpec<GuitarParams> = {
  name: 'Acoustic_guitar',
  band: [80, 1500],
  drives: false,
  color: COLOR,
  params: (rng) => ({ period: rng.uniform(0.25, 0.45), root: rng.uniform(110, 200) }),
  pulses: (rng, p, start, end) => regularPulses(() => rng.next(), start, end, p.period, 0.1),
  halfSize: () => [20, 46],
  render(out, sr, s) {
    const tables = SCALE.map((ratio) =>
      wavetable(harmonics(s.params.root * ratio, sr, 3000, (_, k) => 1 / k ** 1.2)),
    );
    const i1 = sampleAt(s.end, sr, out.length);
    const decay = decayTable(0.35, sr, RING);
    s.pulses.forEach((onset, j) => {
      // the note of each pluck comes from the event's noise, so it is fixed by the seed
      const step = Math.floor(((hashNoise(s.seed, -1 - j) + 1) / 2) * SCALE.length);
      const freq = s.params.root * SCALE[step];
      const end = Math.min(i1, sampleAt(onset + RING, sr, out.length));
      const i0 = sampleAt(onset, sr, out.length);
      for (let i = i0; i < end; i++) {
        const t = i / sr;
        const u = t - onset;
        const env = Math.min(1, u / 0.003) * decay[i - i0];
        out[i] += 0.25 * s.gain * gate(t, s.start, s.end) * env * lookup(tables[step], freq * u);
      }
    });
  },
  draw(c, d) {
    const { x, y, scale: k } = d;
    c.fillRect(x - 4 * k, y - 46 * k, x + 4 * k, y - 6 * k, [90, 55, 25]); // neck
    c.fillEllipse(x, y + 26 * k, 20 * k, 20 * k, COLOR);
    c.fillEllipse(x, y + 6 * k, 15 * k, 15 * k, COLOR);
    c.fillEllipse(x, y + 16 * k, 6 * k, 6 * k, [20, 15, 10]); // sound hole
    const vibrating = d.sounding && sincePulse(d.pulses, d.t) < 0.2;
    const wobble = vibrating ? 1.5 * Math.sign(Math.sin(2 * Math.PI * 20 * d.t) || 1) : 0;
    for (const sx of [-2, 0, 2]) {
      c.line(x + sx * k, y - 44 * k, x + (sx + wobble) * k, y + 36 * k, 1, [235, 235, 220]);
    }
  },
};
