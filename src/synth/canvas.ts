// An RGB24 drawing surface for the SynthAV sprites. Each primitive also grows the bounding box of
// the object being drawn, so a sprite's ground-truth box is exactly the pixels it covers. With no
// pixel buffer the canvas only measures (ground truth without rendering).

export type Rgb = readonly [number, number, number];

/**
 * Pixels are kept inside [HEADROOM, 255 - HEADROOM] so per-frame noise of up to +-HEADROOM can be
 * added four bytes at a time without clamping (see frame.ts). Colours are mapped when drawn.
 */
export const HEADROOM = 16;

/** The byte a colour channel value (0..255) is stored as. */
export function level(v: number): number {
  return HEADROOM + Math.round((Math.min(255, Math.max(0, v)) * (255 - 2 * HEADROOM)) / 255);
}

/** The stored pixel of a colour. */
export function displayed([r, g, b]: Rgb): Rgb {
  return [level(r), level(g), level(b)];
}

/** Half-open pixel box [x0, y0, x1, y1). */
export type Box = [number, number, number, number];

export class Canvas {
  private bx0 = Infinity;
  private by0 = Infinity;
  private bx1 = -Infinity;
  private by1 = -Infinity;

  constructor(
    readonly width: number,
    readonly height: number,
    /** RGB24 pixels, or null to measure boxes only. */
    readonly pixels: Uint8Array | null,
  ) {}

  /** Starts measuring a new object. */
  begin(): void {
    this.bx0 = this.by0 = Infinity;
    this.bx1 = this.by1 = -Infinity;
  }

  /** The box of everything drawn since `begin`, or null when nothing landed in the frame. */
  end(): Box | null {
    if (this.bx1 <= this.bx0 || this.by1 <= this.by0) return null;
    return [this.bx0, this.by0, this.bx1, this.by1];
  }

  fillRect(x0: number, y0: number, x1: number, y1: number, color: Rgb): void {
    const ix0 = Math.max(0, Math.round(x0));
    const iy0 = Math.max(0, Math.round(y0));
    const ix1 = Math.min(this.width, Math.round(x1));
    const iy1 = Math.min(this.height, Math.round(y1));
    if (ix1 <= ix0 || iy1 <= iy0) return;
    this.grow(ix0, iy0, ix1, iy1);
    const px = this.pixels;
    if (!px) return;
    for (let y = iy0; y < iy1; y++) this.span(px, y, ix0, ix1, color);
  }

  fillEllipse(cx: number, cy: number, rx: number, ry: number, color: Rgb): void {
    if (rx <= 0 || ry <= 0) return;
    const iy0 = Math.max(0, Math.ceil(cy - ry - 0.5));
    const iy1 = Math.min(this.height, Math.floor(cy + ry - 0.5) + 1);
    const px = this.pixels;
    for (let y = iy0; y < iy1; y++) {
      const dy = (y + 0.5 - cy) / ry;
      if (dy * dy > 1) continue;
      const half = rx * Math.sqrt(1 - dy * dy);
      const x0 = Math.max(0, Math.ceil(cx - half - 0.5));
      const x1 = Math.min(this.width, Math.floor(cx + half - 0.5) + 1);
      if (x1 <= x0) continue;
      this.grow(x0, y, x1, y + 1);
      if (px) this.span(px, y, x0, x1, color);
    }
  }

  /** A thick straight line drawn as a run of squares. */
  line(x0: number, y0: number, x1: number, y1: number, thickness: number, color: Rgb): void {
    const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
    const h = thickness / 2;
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      this.fillRect(x - h, y - h, x + h, y + h, color);
    }
  }

  private grow(x0: number, y0: number, x1: number, y1: number): void {
    if (x0 < this.bx0) this.bx0 = x0;
    if (y0 < this.by0) this.by0 = y0;
    if (x1 > this.bx1) this.bx1 = x1;
    if (y1 > this.by1) this.by1 = y1;
  }

  private span(px: Uint8Array, y: number, x0: number, x1: number, color: Rgb): void {
    const [r, g, b] = displayed(color);
    for (let i = (y * this.width + x0) * 3, end = (y * this.width + x1) * 3; i < end; i += 3) {
      px[i] = r;
      px[i + 1] = g;
      px[i + 2] = b;
    }
  }
}
