// End to end with real pieces: ffmpeg decodes a lavfi source through fromMedia, the encode
// operator runs the committed DSP encoder files, and the features show what the source contains.
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { expect, test } from 'vitest';
import {
  AUDIO_LAYOUT,
  MAP_CHANNELS,
  VISUAL_LAYOUT,
  dspAudioEncoder,
  dspVisualEncoder,
  sessionRunner,
} from '../../../src/models/encoders/index.js';
import { openSession } from '../../../src/engine/session.js';
import { encode } from '../../../src/operators/encode.js';
import { fromMedia } from '../../../src/streams/fromMedia.js';
import { lavfiSource } from '../../helpers/media.js';
import { referenceCentres } from './reference.js';

const MODELS = new URL('../../../models/', import.meta.url).pathname;
const block = (v: Float32Array, layout: readonly (readonly [string, number, number])[], name: string) => {
  const [, first, count] = layout.find(([n]) => n === name)!;
  return Array.from(v.slice(first, first + count));
};
const argmax = (xs: number[]) => xs.indexOf(Math.max(...xs));

test('grey, then red frames; silence, then a 1 kHz tone: the features follow the source second by second', async () => {
  const source = lavfiSource({
    seconds: 3,
    video: {
      width: 320,
      height: 240,
      fps: 25,
      background: 'gray',
      boxes: [{ from: 1, to: 3, color: 'red' }],
    },
    audio: { sampleRate: 48000, tones: [{ from: 2, to: 3, freq: 1000, amplitude: 0.5 }] },
  });
  const audio = await openSession(join(MODELS, 'dsp-audio.onnx'), { providers: ['cpu'], intraOpThreads: 1 });
  const visual = await openSession(join(MODELS, 'dsp-visual.onnx'), {
    providers: ['cpu'],
    intraOpThreads: 1,
  });
  try {
    const encoders = {
      audio: dspAudioEncoder(sessionRunner(audio.session)),
      visual: dspVisualEncoder(sessionRunner(visual.session)),
    };
    const features = await lastValueFrom(fromMedia(source).pipe(encode(encoders), toArray()));
    expect(features.map((f) => f.index)).toEqual([0, 1, 2]);
    const red = (i: number) =>
      block(features[i].visual!, VISUAL_LAYOUT, 'cell_mean')[MAP_CHANNELS.indexOf('red')];
    const chroma = (i: number) =>
      block(features[i].visual!, VISUAL_LAYOUT, 'cell_mean')[MAP_CHANNELS.indexOf('chroma')];
    expect(chroma(0)).toBeLessThan(0.05); // grey
    expect(red(1)).toBeGreaterThan(0.8); // red (after yuv420p and back)
    expect(chroma(1)).toBeGreaterThan(0.8);
    // Silence in seconds 0-1 (AAC leaves only a whisper); the tone peaks in the band nearest 1 kHz.
    const level = (i: number) => Math.max(...block(features[i].audio!, AUDIO_LAYOUT, 'band_mean'));
    expect(level(2) - level(0)).toBeGreaterThan(10);
    const nearest = argmax(referenceCentres().map((c) => -Math.abs(Math.log(c / 1000))));
    expect(argmax(block(features[2].audio!, AUDIO_LAYOUT, 'band_mean'))).toBe(nearest);
  } finally {
    await audio.session.release();
    await visual.session.release();
  }
});
