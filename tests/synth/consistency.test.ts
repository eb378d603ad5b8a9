// Ground-truth consistency through the real decode path: each class's clip is written as MP4
// (H.264 + AAC through ffmpeg), decoded with fromMedia, and every second's band energy and every
// frame's object pixels are checked against the truth.
import { lastValueFrom, toArray } from 'rxjs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromMedia } from '../../src/streams/fromMedia.js';
import { SYNTH_CLASSES } from '../../src/synth/classes/index.js';
import { SynthClip, resolveOptions } from '../../src/synth/clip.js';
import { Mp4Error, writeMp4 } from '../../src/synth/mp4.js';
import { bandRms, colorFraction, grow } from './helpers.js';
import { displayed } from '../../src/synth/canvas.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('synth-consistency-');

const DURATION = 4;
const TOLERANCE = 25; // colour distance that H.264 at this quality stays within inside a shape

let dir: string;
beforeAll(async () => {
  dir = await tmp();
});

/** The first clip of a one-class dataset whose class is both on and off in each modality. */
function clipWithOnAndOff(name: string): SynthClip {
  const options = resolveOptions({
    seed: 5,
    preset: 'easy',
    duration: DURATION,
    classes: [name],
    interactions: [],
    knobs: { events: [1, 1], audioOnly: 0, visualOnly: 0 },
  });
  for (let i = 0; ; i++) {
    const clip = new SynthClip(options, i);
    const c = clip.truth.classes.indexOf(name);
    const column = (m: Uint8Array) =>
      Array.from({ length: DURATION }, (_, k) => m[k * clip.truth.classes.length + c]);
    const mixed = (xs: number[]) => xs.includes(0) && xs.includes(1);
    if (mixed(column(clip.truth.audio)) && mixed(column(clip.truth.visual))) return clip;
  }
}

describe('SynthAV MP4 decoded with fromMedia matches the ground truth', () => {
  it.each(SYNTH_CLASSES.map((spec) => [spec.name, spec] as const))('%s', async (name, spec) => {
    const clip = clipWithOnAndOff(name);
    const file = path.join(dir, `${clip.name}.mp4`);
    await writeMp4(clip, file);
    const segments = await lastValueFrom(fromMedia(file, { sampleRate: 16000 }).pipe(toArray()));
    expect(segments).toHaveLength(DURATION);
    const C = clip.truth.classes.length;
    const c = clip.truth.classes.indexOf(name);
    for (const seg of segments) {
      const k = seg.index;
      const energy = bandRms(seg.audio!, seg.sampleRate, spec.band[0], spec.band[1]);
      if (clip.truth.audio[k * C + c]) expect(energy, `second ${k} audible`).toBeGreaterThan(0.01);
      else expect(energy, `second ${k} silent`).toBeLessThan(0.004);
      seg.frames!.forEach((frame, j) => {
        const f = k * seg.fps + j;
        const object = clip.truth.boxes[f].find((b) => b.class === name) ?? null;
        expect(object !== null, `frame ${f} visibility`).toBe(clip.truth.visual[k * C + c] === 1);
        if (object) {
          expect(
            colorFraction(frame, seg.width, object.box, displayed(spec.color), TOLERANCE, 'inside'),
            `frame ${f} in box`,
          ).toBeGreaterThan(0.05);
        }
        const outside = colorFraction(
          frame,
          seg.width,
          object && grow(object.box, 4),
          displayed(spec.color),
          TOLERANCE,
          'outside',
        );
        expect(outside, `frame ${f} outside box`).toBeLessThan(0.003);
      });
    }
  });
});

describe('writeMp4', () => {
  it('reports an ffmpeg failure with the path and ffmpeg message', async () => {
    const clip = clipWithOnAndOff('Dog');
    const file = path.join(dir, 'missing-folder', 'x.mp4');
    await expect(writeMp4(clip, file)).rejects.toThrow(Mp4Error);
    await expect(writeMp4(clip, file)).rejects.toThrow(
      /failed writing .*missing-folder\/x\.mp4 with exit code 1: .*No such file or directory/,
    );
  });
});

describe('a default-preset clip with several events, through MP4 and fromMedia', () => {
  it('has energy in every audible class band and every unoccluded object in its box', async () => {
    const options = resolveOptions({ seed: 31, preset: 'default', knobs: { events: [3, 3] } });
    // the first clip with a silent second (the noise reference) and objects in view
    let clip = new SynthClip(options, 0);
    const C = clip.truth.classes.length;
    const silent = (c: SynthClip, k: number) =>
      c.truth.audio.subarray(k * C, (k + 1) * C).every((x) => x === 0);
    for (
      let i = 1;
      ![...Array(10).keys()].some((k) => silent(clip, k)) || clip.truth.boxes[40].length < 2;
      i++
    ) {
      clip = new SynthClip(options, i);
    }
    const file = path.join(dir, `${clip.name}.mp4`);
    await writeMp4(clip, file);
    const segments = await lastValueFrom(fromMedia(file).pipe(toArray()));
    const quiet = segments.filter((s) => silent(clip, s.index));
    let audible = 0;
    for (const spec of SYNTH_CLASSES) {
      const c = clip.truth.classes.indexOf(spec.name);
      const floor = Math.max(
        ...quiet.map((s) => bandRms(s.audio!, s.sampleRate, spec.band[0], spec.band[1])),
      );
      for (const s of segments) {
        if (!clip.truth.audio[s.index * C + c]) continue;
        const energy = bandRms(s.audio!, s.sampleRate, spec.band[0], spec.band[1]);
        expect(energy, `${spec.name} second ${s.index}`).toBeGreaterThan(3 * floor);
        audible++;
      }
    }
    let checked = 0;
    for (const s of segments) {
      s.frames!.forEach((frame, j) => {
        const boxes = clip.truth.boxes[s.index * s.fps + j];
        boxes.forEach((b, n) => {
          const covered = boxes
            .slice(n + 1)
            .some(
              (o) => o.box[0] < b.box[2] && b.box[0] < o.box[2] && o.box[1] < b.box[3] && b.box[1] < o.box[3],
            );
          if (covered) return;
          const color = displayed(SYNTH_CLASSES.find((x) => x.name === b.class)!.color);
          expect(
            colorFraction(frame, s.width, b.box, color, TOLERANCE + 10, 'inside'),
            `${b.class} frame ${j}`,
          ).toBeGreaterThan(0.03);
          checked++;
        });
      });
    }
    expect(audible).toBeGreaterThan(4);
    expect(checked).toBeGreaterThan(80);
  });
});
