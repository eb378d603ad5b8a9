// The clip's soundtrack: every audible event's class renderer plus background noise, at any
// sample rate (the renderers are written in seconds, so 16 kHz and 48 kHz hold the same scene).
import { classSpec } from './classes/index.js';
import { LowPass, hashNoise } from './dsp.js';
import type { Scene } from './scene.js';

/** Mono float32 PCM of the whole clip, in [-1, 1]. */
export function renderAudio(scene: Scene, sampleRate: number): Float32Array {
  const out = new Float32Array(Math.round(scene.duration * sampleRate));
  for (const ev of scene.events) {
    if (!ev.audio) continue;
    classSpec(ev.class).render(out, sampleRate, {
      start: ev.audio.start,
      end: ev.audio.end,
      pulses: ev.pulses,
      params: ev.params,
      gain: ev.gain,
      seed: ev.seed,
    });
  }
  // background noise, half white and half low-passed (a rough pink-ish room tone; uniform noise
  // has RMS 1/sqrt(3)), added in the same pass that clips the mix to [-1, 1]
  const lp = new LowPass(400, sampleRate);
  const level = scene.audioNoise * Math.sqrt(3);
  for (let i = 0; i < out.length; i++) {
    const x =
      level === 0
        ? out[i]
        : out[i] +
          level *
            (0.5 * hashNoise(scene.noiseSeed, i) + 2 * lp.step(hashNoise(scene.noiseSeed ^ 0x55555555, i)));
    out[i] = x > 1 ? 1 : x < -1 ? -1 : x;
  }
  return out;
}
