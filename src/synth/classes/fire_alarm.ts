// Fire_alarm: periodic beeps of a high tone; the sprite is an alarm light that flashes during
// each beep.
import { gate, harmonics, lookup, regularPulses, sampleAt, wavetable } from '../dsp.js';
import { sincePulse, type ClassSpec } from './spec.js';

type AlarmParams = {
  freq: number;
  period: number;
};

const DUTY = 0.6;

/** The sprite's dominant colour. */
const COLOR = [170, 0, 0] as const;

export const fireAlarm: ClassSpec<AlarmParams> = {
  name: 'Fire_alarm',
  band: [2700, 3500],
  drives: false,
  color: COLOR,
  params: (rng) => ({ freq: rng.uniform(2900, 3300), period: rng.uniform(0.45, 0.6) }),
  pulses: (rng, p, start, end) => regularPulses(() => rng.next(), start, end, p.period, 0),
  halfSize: () => [26, 26],
  render(out, sr, s) {
    const { freq, period } = s.params;
    // a square-ish tone: odd harmonics while they stay below Nyquist
    const table = wavetable(harmonics(freq, sr, 16000, (_, k) => (k % 2 === 1 ? 1 / k : 0)));
    const i0 = sampleAt(s.start, sr, out.length);
    const i1 = sampleAt(s.end, sr, out.length);
    for (let i = i0; i < i1; i++) {
      const t = i / sr;
      const since = sincePulse(s.pulses, t);
      const beep = gate(since, 0, DUTY * period, 0.005);
      if (beep === 0) continue;
      out[i] += 0.25 * s.gain * gate(t, s.start, s.end) * beep * lookup(table, freq * t);
    }
  },
  draw(c, d) {
    const { x, y, scale: k } = d;
    const lit = d.sounding && sincePulse(d.pulses, d.t) < DUTY * d.params.period;
    c.fillRect(x - 26 * k, y - 26 * k, x + 26 * k, y + 26 * k, [150, 150, 155]); // mount
    c.fillEllipse(x, y, 20 * k, 20 * k, COLOR);
    if (lit) c.fillEllipse(x, y, 16 * k, 16 * k, [255, 245, 150]);
  },
};
