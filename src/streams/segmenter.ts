// Frames the raw ffmpeg outputs into one-second pieces by byte offset. Every output is a
// constant-rate stream starting at media time 0, so second k of a channel is exactly the bytes
// [k * bytesPerSecond, (k + 1) * bytesPerSecond): alignment needs no timestamps and cannot drift.
import type { DecodeLayout } from './ffmpeg/args.js';

/** One second of decoded media, before it gets a stream name, index and clock. */
export interface SegmentData {
  /** Second number within this decode run (0-based). */
  second: number;
  frames: Uint8Array[] | null;
  /** One entry per audio rate of the layout. */
  audio: (Float32Array | null)[];
  /** Some modality ended (or lagged) inside this second and was padded. */
  partial: boolean;
}

export interface SegmenterOptions {
  /**
   * A lagging output is given up on for a second once another output is this many seconds
   * ahead (memory bound: an output that stopped producing, e.g. audio shorter than video).
   */
  maxSkewSeconds: number;
  /** The final incomplete second is kept (padded) when it holds at least this much media. */
  tailMinSeconds: number;
}

/** FIFO of byte chunks that hands out exact byte counts. */
class ByteQueue {
  private chunks: Uint8Array[] = [];
  private offset = 0; // into chunks[0]
  length = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Copies the first `n` bytes into `dest` (or just drops them when dest is null). */
  take(n: number, dest: Uint8Array | null): void {
    let written = 0;
    while (written < n) {
      const head = this.chunks[0];
      const count = Math.min(n - written, head.length - this.offset);
      if (dest) dest.set(head.subarray(this.offset, this.offset + count), written);
      written += count;
      this.offset += count;
      if (this.offset === head.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    this.length -= n;
  }
}

interface Channel {
  bytesPerSecond: number;
  queue: ByteQueue;
  ended: boolean;
  /** Bytes still to discard because their second was already emitted without them. */
  skip: number;
  /** Last complete frame (video only), to pad a truncated second. */
  lastFrame: Uint8Array | null;
}

export class Segmenter {
  private readonly channels: Channel[] = [];
  private readonly frameBytes: number;
  private next = 0;

  constructor(
    private readonly layout: DecodeLayout,
    private readonly options: SegmenterOptions,
  ) {
    const v = layout.video;
    this.frameBytes = v ? v.width * v.height * 3 : 0;
    const rates = v ? [v.fps * this.frameBytes] : [];
    for (const rate of layout.audioRates) rates.push(rate * 4);
    for (const bytesPerSecond of rates)
      this.channels.push({ bytesPerSecond, queue: new ByteQueue(), ended: false, skip: 0, lastFrame: null });
  }

  /** Channel numbers: video first (when present), then each audio rate in layout order. */
  get channelCount(): number {
    return this.channels.length;
  }

  /** Bytes that make up one second of each channel. */
  bytesPerSecond(channel: number): number {
    return this.channels[channel].bytesPerSecond;
  }

  /** Adds bytes of one channel; returns the seconds this completed. */
  push(channel: number, chunk: Uint8Array): SegmentData[] {
    const c = this.channels[channel];
    if (c.skip > 0) {
      const dropped = Math.min(c.skip, chunk.length);
      c.skip -= dropped;
      chunk = chunk.subarray(dropped);
    }
    c.queue.push(chunk);
    return this.drain();
  }

  /** Marks a channel as finished (its pipe closed). */
  end(channel: number): SegmentData[] {
    this.channels[channel].ended = true;
    return this.drain();
  }

  /** After every channel ended: the final incomplete second, if it holds enough media. */
  finish(): SegmentData[] {
    for (const c of this.channels) c.ended = true;
    const out = this.drain();
    const longest = Math.max(0, ...this.channels.map((c) => c.queue.length / c.bytesPerSecond));
    if (longest > 0 && longest >= this.options.tailMinSeconds) out.push(this.cut());
    for (const c of this.channels) if (c.queue.length > 0) c.queue.take(c.queue.length, null);
    return out;
  }

  /** Media seconds held in the fullest channel (for memory accounting). */
  bufferedSeconds(): number {
    return Math.max(0, ...this.channels.map((c) => c.queue.length / c.bytesPerSecond));
  }

  private drain(): SegmentData[] {
    const out: SegmentData[] = [];
    for (;;) {
      const full = this.channels.map((c) => c.queue.length >= c.bytesPerSecond);
      const ready = this.channels.every((c, i) => full[i] || c.ended);
      const someFull = full.some(Boolean);
      const leaderAhead = this.channels.some(
        (c) => c.queue.length >= c.bytesPerSecond * (1 + this.options.maxSkewSeconds),
      );
      if (!someFull || !(ready || leaderAhead)) return out;
      out.push(this.cut());
    }
  }

  /** Removes one second from every channel, padding (or nulling) channels short of it. */
  private cut(): SegmentData {
    let partial = false;
    const parts = this.channels.map((c) => {
      const have = Math.min(c.queue.length, c.bytesPerSecond);
      if (have < c.bytesPerSecond) {
        if (!c.ended) c.skip += c.bytesPerSecond - have; // it lags: its late bytes belong to this second
        if (have === 0) return null;
        partial = true;
      }
      const bytes = new Uint8Array(c.bytesPerSecond);
      c.queue.take(have, bytes);
      return { bytes, have };
    });
    const hasVideo = this.layout.video !== null;
    const audioParts = hasVideo ? parts.slice(1) : parts;
    const segment: SegmentData = {
      second: this.next++,
      frames: hasVideo ? this.toFrames(this.channels[0], parts[0]) : null,
      audio: audioParts.map((p) => (p ? new Float32Array(p.bytes.buffer) : null)),
      partial,
    };
    return segment;
  }

  /** Splits a second of video into frame views; a short second repeats its last whole frame. */
  private toFrames(c: Channel, part: { bytes: Uint8Array; have: number } | null): Uint8Array[] | null {
    if (!part) return null;
    const fb = this.frameBytes;
    const whole = Math.floor(part.have / fb);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < whole; i++) frames.push(part.bytes.subarray(i * fb, (i + 1) * fb));
    const filler = frames[whole - 1] ?? c.lastFrame;
    if (!filler) return null;
    while (frames.length < this.layout.video!.fps) {
      const at = frames.length * fb;
      part.bytes.set(filler, at);
      frames.push(part.bytes.subarray(at, at + fb));
    }
    c.lastFrame = frames[frames.length - 1].slice(); // a copy: consumers may transfer the segment buffer
    return frames;
  }
}
