// Speech: a voiced harmonic source shaped by two formants, switched on and off at syllable rate;
// the sprite is a face whose mouth opens with the same syllable envelope.
import { gate, harmonics, hashNoise, lookup, sampleAt, sine, wavetable } from '../dsp.js';
import { lastPulse, type ClassSpec } from './spec.js';

type SpeechParams = {
  f0: number;
  formant1: number;
  formant2: number;
  syllable: number;
};

/** 0..1 syllable loudness (and mouth opening) at t. */
function syllableEnvelope(pulses: readonly number[], syllable: number, t: number): number {
  const i = lastPulse(pulses, t);
  if (i < 0) return 0;
  const u = (t - pulses[i]) / syllable;
  return u < 1 ? sine(u / 2) : 0;
}

/** The sprite's dominant colour. */
const COLOR = [230, 185, 140] as const;

export const speech: ClassSpec<SpeechParams> = {
  name: 'Speech',
  band: [300, 2000],
  drives: false,
  color: COLOR,
  params: (rng) => ({
    f0: rng.uniform(100, 220),
    formant1: rng.uniform(500, 800),
    formant2: rng.uniform(1100, 1800),
    syllable: rng.uniform(0.16, 0.22),
  }),
  pulses: (rng, p, start, end) => {
    const out: number[] = [];
    for (let t = start; t < end; t += p.syllable * rng.uniform(1.15, 1.5)) out.push(t);
    return out;
  },
  halfSize: () => [34, 56],
  render(out, sr, s) {
    const { f0, formant1, formant2, syllable } = s.params;
    const table = wavetable(
      harmonics(
        f0,
        sr,
        4000,
        (f) => 1 / (1 + ((f - formant1) / 150) ** 2) + 0.7 / (1 + ((f - formant2) / 200) ** 2) + 0.03,
      ),
    );
    const i0 = sampleAt(s.start, sr, out.length);
    const i1 = sampleAt(s.end, sr, out.length);
    let phase = 0;
    for (let i = i0; i < i1; i++) {
      const t = i / sr;
      // intonation: a slow pitch contour plus vibrato
      phase += (f0 * (1 + 0.08 * sine(0.7 * t) + 0.02 * sine(5 * t))) / sr;
      const env = syllableEnvelope(s.pulses, syllable, t);
      if (env === 0) continue;
      const x = lookup(table, phase) + 0.05 * hashNoise(s.seed, i);
      out[i] += 0.3 * s.gain * gate(t, s.start, s.end) * env * x;
    }
  },
  draw(c, d) {
    const { x, y, scale: k } = d;
    const open = d.sounding ? syllableEnvelope(d.pulses, d.params.syllable, d.t) : 0;
    c.fillRect(x - 34 * k, y + 30 * k, x + 34 * k, y + 56 * k, [40, 140, 140]); // shirt
    c.fillEllipse(x, y, 28 * k, 36 * k, COLOR); // face
    c.fillEllipse(x, y - 24 * k, 30 * k, 16 * k, [60, 40, 25]); // hair
    c.fillEllipse(x - 10 * k, y - 6 * k, 4 * k, 4 * k, [30, 30, 40]);
    c.fillEllipse(x + 10 * k, y - 6 * k, 4 * k, 4 * k, [30, 30, 40]);
    c.fillEllipse(x, y + 16 * k, 11 * k, (1.5 + 9 * open) * k, [120, 20, 30]); // mouth
  },
};
