// Frames: background, sprites at their positions at time t, and per-frame pixel noise. The same
// sprite code measures the ground-truth boxes (on a canvas without pixels) and draws the pixels.
import { Rng } from '../util/rng.js';
import { Canvas, type Box } from './canvas.js';
import { classSpec } from './classes/index.js';
import { hashNoise } from './dsp.js';
import { FRAME_HEIGHT, FRAME_WIDTH, type Interval, type Scene, type SceneEvent } from './scene.js';

/** A visible object in one frame. */
export interface FrameBox {
  event: number;
  class: string;
  /** Half-open pixel box [x0, y0, x1, y1). */
  box: Box;
  sounding: boolean;
}

const inside = (span: Interval | null, t: number) => span !== null && t >= span.start && t < span.end;

/** Folds a coordinate into [lo, hi] like a ball between two walls; `turned` when it came back. */
function reflect(p: number, lo: number, hi: number): { pos: number; turned: boolean } {
  if (hi <= lo) return { pos: (lo + hi) / 2, turned: false };
  const span = hi - lo;
  const q = (((p - lo) % (2 * span)) + 2 * span) % (2 * span);
  return q <= span ? { pos: lo + q, turned: false } : { pos: lo + 2 * span - q, turned: true };
}

/** Seconds of [visual start, t) during which the event was audible (vehicles move only then). */
function drivenTime(ev: SceneEvent, t: number): number {
  if (!ev.audio || !ev.visual) return 0;
  return Math.max(0, Math.min(t, ev.audio.end) - Math.max(ev.visual.start, ev.audio.start));
}

/** Draws (or, on a measuring canvas, measures) every object visible at time t, in event order. */
export function drawObjects(canvas: Canvas, scene: Scene, t: number): FrameBox[] {
  const boxes: FrameBox[] = [];
  for (const ev of scene.events) {
    const o = ev.object;
    if (!o || !inside(ev.visual, t)) continue;
    const spec = classSpec(ev.class);
    const [hw, hh] = spec.halfSize(ev.params).map((h) => h * o.scale);
    const elapsed = t - ev.visual!.start;
    const sx = spec.drives
      ? reflect(o.x + o.facing * o.speed * drivenTime(ev, t), hw, FRAME_WIDTH - hw)
      : reflect(o.x + o.vx * elapsed, hw, FRAME_WIDTH - hw);
    const sy = reflect(o.y + o.vy * elapsed, hh, FRAME_HEIGHT - hh);
    const sounding = inside(ev.audio, t);
    canvas.begin();
    spec.draw(canvas, {
      t,
      x: sx.pos,
      y: sy.pos,
      scale: o.scale,
      facing: sx.turned ? (-o.facing as 1 | -1) : o.facing,
      sounding,
      pulses: ev.pulses,
      params: ev.params,
    });
    const box = canvas.end();
    if (box) boxes.push({ event: ev.id, class: ev.class, box, sounding });
  }
  return boxes;
}

/** The static part of every frame of a clip: sky, ground and clutter. */
export function renderBackground(scene: Scene): Uint8Array {
  const pixels = new Uint8Array(FRAME_WIDTH * FRAME_HEIGHT * 3);
  const canvas = new Canvas(FRAME_WIDTH, FRAME_HEIGHT, pixels);
  // a soft vertical gradient on the sky so the background is not perfectly flat
  for (let y = 0; y < scene.horizon; y++) {
    const shade = 0.85 + (0.15 * y) / scene.horizon;
    canvas.fillRect(0, y, FRAME_WIDTH, y + 1, [
      scene.sky[0] * shade,
      scene.sky[1] * shade,
      scene.sky[2] * shade,
    ]);
  }
  canvas.fillRect(0, scene.horizon, FRAME_WIDTH, FRAME_HEIGHT, scene.ground);
  for (const c of scene.clutter) {
    if (c.kind === 'rect')
      canvas.fillRect(c.x - c.w / 2, c.y - c.h / 2, c.x + c.w / 2, c.y + c.h / 2, c.color);
    else canvas.fillEllipse(c.x, c.y, c.w / 2, c.h / 2, c.color);
  }
  return pixels;
}

// Pixel noise: a fixed random tile of 32-bit words, read at a per-frame offset and added four
// bytes at a time. Every byte of the tile is in [0, 2 * amplitude]; subtracting `amplitude` from
// every byte first cannot borrow and adding the tile cannot carry, because the canvas keeps all
// pixels within HEADROOM >= amplitude of the ends of the byte range.
const TILE_WORDS = 1 << 16;
const tiles = new Map<number, Uint32Array>();
function noiseTile(amplitude: number): Uint32Array {
  let tile = tiles.get(amplitude);
  if (!tile) {
    const rng = new Rng(0x5eed7113);
    const byte = () => rng.int(0, 2 * amplitude + 1);
    tile = new Uint32Array(TILE_WORDS);
    for (let i = 0; i < TILE_WORDS; i++)
      tile[i] = (byte() | (byte() << 8) | (byte() << 16) | (byte() << 24)) >>> 0;
    tiles.set(amplitude, tile);
  }
  return tile;
}

/** Renders frame `index` (at time index / fps) over a copy of the clip's background. */
export function renderFrame(scene: Scene, background: Uint8Array, index: number, fps: number): Uint8Array {
  const pixels = background.slice();
  drawObjects(new Canvas(FRAME_WIDTH, FRAME_HEIGHT, pixels), scene, index / fps);
  const amplitude = Math.round(scene.pixelNoise);
  if (amplitude > 0) {
    const tile = noiseTile(amplitude);
    const words = new Uint32Array(pixels.buffer);
    const offset = Math.floor(((hashNoise(scene.noiseSeed, index) + 1) / 2) * TILE_WORDS);
    const bias = Math.imul(amplitude, 0x01010101) >>> 0;
    for (let i = 0; i < words.length; i++) words[i] = words[i] - bias + tile[(offset + i) & (TILE_WORDS - 1)];
  }
  return pixels;
}
