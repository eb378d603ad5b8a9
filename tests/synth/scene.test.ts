// The library API: determinism, the ground truth's internal consistency, planted interactions,
// single-annotation mode, off-grid times, pseudo-label noise and option validation.
import { describe, expect, it } from 'vitest';
import { SYNTH_CLASSES, SYNTH_CLASS_NAMES } from '../../src/synth/classes/index.js';
import { resolveOptions, synthClip, SynthClip, type SynthOptions } from '../../src/synth/clip.js';
import { InteractionError, interactionGraph, parseInteractions } from '../../src/synth/interactions.js';
import { coversSecond } from '../../src/synth/truth.js';
import { bandRms } from './helpers.js';

const C = 25;

describe('determinism', () => {
  it('same seed and index give identical scenes, truth, PCM and frames', () => {
    const a = synthClip({ seed: 42, sampleRateHi: 48000 }, 3);
    const b = synthClip({ seed: 42, sampleRateHi: 48000 }, 3);
    expect(b.name).toBe(a.name);
    expect(b.scene).toEqual(a.scene);
    expect(b.truth).toEqual(a.truth);
    expect(b.pseudoLabels()).toEqual(a.pseudoLabels());
    const [sa, sb] = [a.segment(4), b.segment(4)];
    expect(Buffer.from(sb.audio!.buffer).equals(Buffer.from(sa.audio!.buffer))).toBe(true);
    expect(Buffer.from(sb.audioHi!.buffer).equals(Buffer.from(sa.audioHi!.buffer))).toBe(true);
    sa.frames!.forEach((f, j) => expect(Buffer.from(sb.frames![j]).equals(Buffer.from(f))).toBe(true));
  });

  it('differs across seeds, splits and indices, and clip i does not depend on the others', () => {
    const names = new Set(
      [
        synthClip({ seed: 1 }, 0),
        synthClip({ seed: 2 }, 0),
        synthClip({ seed: 1, split: 'val' }, 0),
        synthClip({ seed: 1 }, 1),
      ].map((c) => c.name),
    );
    expect(names.size).toBe(4);
    const options = resolveOptions({ seed: 9 });
    const later = new SynthClip(options, 7);
    for (let i = 0; i < 7; i++) new SynthClip(options, i).audio();
    expect(new SynthClip(options, 7).scene).toEqual(later.scene);
  });

  it('makes 11-character ids without a leading dash and LLP-style names', () => {
    for (let i = 0; i < 50; i++) {
      const clip = synthClip({ seed: 3 }, i);
      expect(clip.id).toMatch(/^[A-Za-z0-9_]{11}$/);
      expect(clip.name).toBe(`${clip.id}_0_10`);
    }
  });
});

describe('ground truth', () => {
  const clips = Array.from({ length: 40 }, (_, i) =>
    synthClip({ seed: 17, preset: 'hard', offBoundary: 0.3 }, i),
  );

  it('dense labels follow the events, weak labels are their union', () => {
    for (const clip of clips) {
      const { audio, visual, weak } = clip.truth;
      for (let c = 0; c < C; c++) {
        const name = clip.truth.classes[c];
        const events = clip.scene.events.filter((e) => e.class === name);
        for (let k = 0; k < 10; k++) {
          expect(audio[k * C + c]).toBe(events.some((e) => e.audio && coversSecond(e.audio, k)) ? 1 : 0);
          expect(visual[k * C + c]).toBe(events.some((e) => e.visual && coversSecond(e.visual, k)) ? 1 : 0);
        }
      }
      const present = new Set(clip.scene.events.map((e) => e.class));
      expect(new Set(weak)).toEqual(present);
    }
  });

  it('boxes lie in the frame, exist exactly while an object is visible, and carry the sounding flag', () => {
    for (const clip of clips) {
      clip.truth.boxes.forEach((frame, f) => {
        const t = f / 8;
        const visible = clip.scene.events.filter((e) => e.visual && t >= e.visual.start && t < e.visual.end);
        expect(frame.map((b) => b.event)).toEqual(visible.map((e) => e.id));
        for (const b of frame) {
          const ev = clip.scene.events[b.event];
          const [x0, y0, x1, y1] = b.box;
          expect(0 <= x0 && x0 < x1 && x1 <= 224 && 0 <= y0 && y0 < y1 && y1 <= 224).toBe(true);
          expect(b.sounding).toBe(ev.audio !== null && t >= ev.audio.start && t < ev.audio.end);
        }
      });
    }
  });

  it('the per-second rule labels a second when an event covers at least half of it', () => {
    expect(coversSecond({ start: 2.5, end: 6 }, 2)).toBe(true);
    expect(coversSecond({ start: 2.51, end: 6 }, 2)).toBe(false);
    expect(coversSecond({ start: 0, end: 3.4 }, 3)).toBe(false);
    const offGrid = clips
      .flatMap((c) => c.scene.events)
      .some((e) => e.audio && !Number.isInteger(e.audio.start));
    expect(offGrid).toBe(true);
  });

  it('every rendered class has distinct sound: its own band holds its energy', () => {
    for (const spec of SYNTH_CLASSES) {
      const clip = synthClip(
        {
          seed: 2,
          preset: 'easy',
          classes: [spec.name],
          interactions: [],
          knobs: { events: [1, 1], visualOnly: 0 },
        },
        0,
      );
      const ev = clip.scene.events[0];
      const k = Math.floor(ev.audio!.start);
      const second = clip.audio().subarray(k * 16000, (k + 1) * 16000);
      const inBand = bandRms(second, 16000, spec.band[0], spec.band[1]);
      expect(inBand / bandRms(second, 16000, 0, 8000), spec.name).toBeGreaterThan(0.6);
    }
  });
});

describe('planted interactions', () => {
  const rule = { from: 'Car', when: 'visual', to: 'Motorcycle', then: 'audio', p: 1 } as const;
  const base: SynthOptions = {
    seed: 4,
    classes: ['Car', 'Dog'],
    knobs: { events: [1, 1], audioOnly: 0, visualOnly: 0 },
  };

  it('adds the effect event over the cause interval with probability p', () => {
    let cars = 0;
    for (let i = 0; i < 30; i++) {
      const clip = synthClip({ ...base, interactions: [rule] }, i);
      const car = clip.scene.events.find((e) => e.class === 'Car' && e.cause === null);
      const added = clip.scene.events.filter((e) => e.cause !== null);
      if (!car) {
        expect(added).toEqual([]);
        continue;
      }
      cars++;
      expect(added).toHaveLength(1);
      expect(added[0]).toMatchObject({
        class: 'Motorcycle',
        audio: car.visual,
        visual: null,
        cause: { event: car.id, rule: 0 },
      });
      expect(clip.truth.weak).toContain('Motorcycle');
    }
    expect(cars).toBeGreaterThan(5);
    for (let i = 0; i < 30; i++) {
      expect(
        synthClip({ ...base, interactions: [{ ...rule, p: 0 }] }, i).scene.events.every(
          (e) => e.cause === null,
        ),
      ).toBe(true);
    }
  });

  it('in single-annotation mode the added events are present but unannotated', () => {
    let seen = 0;
    for (let i = 0; i < 30; i++) {
      const clip = synthClip({ ...base, classes: ['Car'], interactions: [rule], singleAnnotation: true }, i);
      expect(clip.scene.label).toBe('Car');
      expect(clip.truth.annotated).toEqual(['Car']);
      if (clip.truth.weak.includes('Motorcycle')) seen++;
    }
    expect(seen).toBe(30);
  });

  it('exports the table as a graph and validates tables read from JSON', () => {
    expect(interactionGraph([rule]).edges).toEqual([{ from: 'Car:visual', to: 'Motorcycle:audio', p: 1 }]);
    expect(parseInteractions([rule], SYNTH_CLASS_NAMES, 'x.json')).toEqual([rule]);
    const bad: [unknown, RegExp][] = [
      [{}, /expected a JSON array/],
      [[1], /entry 0: expected an object/],
      [[{ ...rule, from: 'Cat' }], /entry 0: 'from' must be one of/],
      [[rule, { ...rule, then: 'both' }], /entry 1: 'then' must be "audio" or "visual"/],
      [[{ ...rule, p: 1.5 }], /'p' must be a probability/],
      [[{ ...rule, p: '0.5' }], /'p' must be a probability/],
    ];
    for (const [value, message] of bad) {
      expect(() => parseInteractions(value, SYNTH_CLASS_NAMES, 'x.json')).toThrow(InteractionError);
      expect(() => parseInteractions(value, SYNTH_CLASS_NAMES, 'x.json')).toThrow(message);
    }
  });
});

describe('pseudo labels', () => {
  it('equal the annotated dense truth without noise, and stay inside the annotated labels with noise', () => {
    for (let i = 0; i < 20; i++) {
      const exact = synthClip({ seed: 8, pseudoNoise: { miss: 0, falseAlarm: 0, jitter: 0 } }, i);
      const p = exact.pseudoLabels();
      expect(p.audio).toEqual(exact.truth.audio);
      expect(p.visual).toEqual(exact.truth.visual);
      const noisy = synthClip(
        { seed: 8, singleAnnotation: true, pseudoNoise: { miss: 0.3, falseAlarm: 0.3 } },
        i,
      );
      const q = noisy.pseudoLabels();
      const allowed = noisy.truth.annotated.map((n) => noisy.truth.classes.indexOf(n));
      q.audio.forEach((x, j) => x && expect(allowed).toContain(j % C));
    }
  });

  it('misses and false alarms come at about the configured rates', () => {
    let positives = 0;
    let missed = 0;
    let negatives = 0;
    let alarms = 0;
    for (let i = 0; i < 200; i++) {
      const clip = synthClip({ seed: 5, pseudoNoise: { miss: 0.2, falseAlarm: 0.1, jitter: 0 } }, i);
      const { audio } = clip.pseudoLabels();
      for (const name of clip.truth.annotated) {
        const c = clip.truth.classes.indexOf(name);
        for (let k = 0; k < 10; k++) {
          if (clip.truth.audio[k * C + c]) {
            positives++;
            missed += 1 - audio[k * C + c];
          } else {
            negatives++;
            alarms += audio[k * C + c];
          }
        }
      }
    }
    expect(missed / positives).toBeGreaterThan(0.15);
    expect(missed / positives).toBeLessThan(0.25);
    expect(alarms / negatives).toBeGreaterThan(0.07);
    expect(alarms / negatives).toBeLessThan(0.13);
  });
});

describe('options', () => {
  it('rejects bad options with a message naming the option', () => {
    const cases: [SynthOptions, RegExp][] = [
      [{ seed: -1 }, /'seed' must be an integer/],
      [{ seed: 1.5 }, /'seed' must be an integer/],
      [{ seed: 1, duration: 0 }, /'duration'/],
      [{ seed: 1, preset: 'extreme' as never }, /preset must be one of easy, default, hard/],
      [{ seed: 1, classes: ['Cat'] }, /classes must be a non-empty subset/],
      [{ seed: 1, classes: [] }, /classes must be a non-empty subset/],
      [{ seed: 1, offBoundary: 2 }, /'offBoundary' must be a probability/],
      [{ seed: 1, pseudoNoise: { miss: -0.1 } }, /'pseudoNoise.miss' must be a probability/],
      [{ seed: 1, sampleRateHi: 1000 }, /'sampleRateHi'/],
      [{ seed: 1, knobs: { events: [3, 1] } }, /knob 'events' must be \[lo, hi\] with 0 <= lo <= hi <= 10/],
      [
        { seed: 1, knobs: { audioOnly: 0.7, visualOnly: 0.5 } },
        /knob 'visualOnly' must be a number in \[0, 0.3/,
      ],
      [{ seed: 1, knobs: { pixelNoise: 40 } }, /knob 'pixelNoise' must be an integer in \[0, 16\]/],
      [{ seed: 1, knobs: { scale: [0, 1] } }, /knob 'scale'/],
      [{ seed: 1, knobs: { clutter: -1 } }, /knob 'clutter'/],
      [{ seed: 1, knobs: { loudnessDb: [Number.NaN, 0] } }, /knob 'loudnessDb'/],
      [
        { seed: 1, interactions: [{ from: 'Car', when: 'seen' as never, to: 'Dog', then: 'audio', p: 1 }] },
        /entry 0: 'when'/,
      ],
    ];
    for (const [options, message] of cases) expect(() => resolveOptions(options)).toThrow(message);
    expect(() => synthClip({ seed: 1, duration: 3 }, 0).segment(3)).toThrow(
      /has seconds 0\.\.2, asked for 3/,
    );
    for (const index of [-1, 2.5, 2 ** 32]) {
      expect(() => synthClip({ seed: 1 }, index)).toThrow(
        /clip index must be an integer in \[0, 4294967295\]/,
      );
    }
  });
});
