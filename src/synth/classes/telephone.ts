// Telephone_bell_ringing: a trilled bell (inharmonic partials) in rings of 0.4 s; the sprite is a
// phone whose handset rattles while it rings.
import { gate, regularPulses, sampleAt, sine } from '../dsp.js';
import { sincePulse, type ClassSpec } from './spec.js';

type PhoneParams = {
  freq: number;
  trill: number;
};

const RING = 0.4;
const PARTIALS = [
  [1, 1],
  [2.76, 0.6],
  [5.4, 0.35],
] as const;

/** The sprite's dominant colour. */
const COLOR = [110, 40, 150] as const;

export const telephone: ClassSpec<PhoneParams> = {
  name: 'Telephone_bell_ringing',
  band: [900, 3600],
  drives: false,
  color: COLOR,
  params: (rng) => ({ freq: rng.uniform(1000, 1300), trill: rng.uniform(18, 25) }),
  pulses: (rng, _p, start, end) => regularPulses(() => rng.next(), start, end, 0.5, 0),
  halfSize: () => [33, 19],
  render(out, sr, s) {
    const { freq, trill } = s.params;
    const partials = PARTIALS.filter(([ratio]) => ratio * freq < 0.45 * sr);
    const i0 = sampleAt(s.start, sr, out.length);
    const i1 = sampleAt(s.end, sr, out.length);
    for (let i = i0; i < i1; i++) {
      const t = i / sr;
      const ring = gate(sincePulse(s.pulses, t), 0, RING, 0.005);
      if (ring === 0) continue;
      let x = 0;
      for (let p = 0; p < partials.length; p++) x += partials[p][1] * sine(partials[p][0] * freq * t);
      const clapper = Math.abs(sine((trill * t) / 2));
      out[i] += 0.18 * s.gain * gate(t, s.start, s.end) * ring * clapper * x;
    }
  },
  draw(c, d) {
    const { x, y, scale: k } = d;
    const ringing = d.sounding && sincePulse(d.pulses, d.t) < RING;
    const dx = ringing ? 3 * Math.sign(Math.sin(2 * Math.PI * 10 * d.t) || 1) : 0;
    const dy = ringing ? -3 : 0;
    c.fillRect(x - 26 * k, y - 4 * k, x + 26 * k, y + 16 * k, COLOR); // base
    c.fillEllipse(x, y + 6 * k, 7 * k, 7 * k, [240, 240, 240]); // dial
    c.fillRect(x + (dx - 30) * k, y + (dy - 16) * k, x + (dx + 30) * k, y + (dy - 8) * k, [70, 20, 100]); // handset
  },
};
