// The demo's input: one SynthAV clip with known events, written once as an MP4 into a cache folder
// and played as an endless live source by ffmpeg alone (a looping lavfi `movie` graph, paced in real
// time by the ingest), plus the clip's ground truth for printing beside what the parser finds.
import { mkdir, rename, stat } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthClip, type SynthClip } from '../synth/clip.js';
import { writeMp4 } from '../synth/mp4.js';
import type { PresetName } from '../synth/presets.js';
import type { Interval } from '../synth/scene.js';
import type { Modality } from '../types.js';

export interface DemoClipOptions {
  seed: number;
  index: number;
  preset: PresetName;
  /** Cache folder (default $XDG_CACHE_HOME/avvp or ~/.cache/avvp; the temp dir as a fallback). */
  cacheDir?: string;
  /** Called before the MP4 is rendered (it is not cached yet; takes a few seconds). */
  onGenerate?: (file: string) => void;
}

export interface DemoClip {
  clip: SynthClip;
  file: string;
  /** True when the MP4 was already in the cache. */
  cached: boolean;
  /** The `lavfi:` source that plays the file in an endless loop with continuous timestamps. */
  source: string;
}

/** Paths that go into a lavfi graph unescaped: no quotes, colons, commas, brackets or spaces. */
const SAFE_PATH = /^[A-Za-z0-9/._-]+$/;

export async function demoClip(o: DemoClipOptions): Promise<DemoClip> {
  const clip = synthClip({ seed: o.seed, split: 'demo', preset: o.preset }, o.index);
  let dir = o.cacheDir ?? join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'avvp');
  if (!SAFE_PATH.test(dir)) dir = join(tmpdir(), 'avvp-cache');
  if (!SAFE_PATH.test(dir))
    throw new Error(`no cache folder with a plain path for the demo clip (tried ${dir})`);
  await mkdir(dir, { recursive: true });
  const file = join(dir, `demo-${o.preset}-${o.seed}-${o.index}.mp4`);
  const cached = (await stat(file).catch(() => null))?.isFile() ?? false;
  if (!cached) {
    o.onGenerate?.(file);
    // Written under a temporary name first, so an interrupted run never leaves a broken cache entry.
    const partial = `${file}.${process.pid}.part.mp4`;
    await writeMp4(clip, partial);
    await rename(partial, file);
  }
  return { clip, file, cached, source: loopSource(file) };
}

/** ffmpeg plays `file` forever; setpts/asetpts keep timestamps increasing across the loops. */
export function loopSource(file: string): string {
  return (
    `lavfi:movie=${file}:loop=0,setpts=N/FRAME_RATE/TB[out0];` + `amovie=${file}:loop=0,asetpts=N/SR/TB[out1]`
  );
}

/** Where `label` truly is in `modality` in the clip: intervals in clip seconds. */
export function truthIntervals(clip: SynthClip, label: string, modality: Modality): Interval[] {
  const out: Interval[] = [];
  for (const e of clip.scene.events) {
    if (e.class !== label) continue;
    const span =
      modality === 'audio'
        ? e.audio
        : modality === 'visual'
          ? e.visual
          : e.audio && e.visual
            ? { start: Math.max(e.audio.start, e.visual.start), end: Math.min(e.audio.end, e.visual.end) }
            : null;
    if (span && span.end > span.start) out.push(span);
  }
  return out;
}

/** Every true event of the clip, for the header of each loop. */
export function truthSummary(clip: SynthClip): { label: string; modality: Modality; span: Interval }[] {
  const labels = [...new Set(clip.scene.events.map((e) => e.class))];
  return labels.flatMap((label) =>
    (['audio', 'visual', 'audio-visual'] as const).flatMap((modality) =>
      truthIntervals(clip, label, modality).map((span) => ({ label, modality, span })),
    ),
  );
}
