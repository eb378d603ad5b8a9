// Data contracts shared by streams, operators, models and sinks. Everything that crosses a
// module boundary is one of these types; see docs/architecture.md for the flow.

/** One second of decoded media from one stream. Segment k covers media time [k, k+1) s. */
export interface Segment {
  /** Configured stream name (never a URL: URLs may carry credentials). */
  stream: string;
  /** Segment index; keeps increasing across reconnects of a live source. */
  index: number;
  /** Media start time in seconds (equals `index` for an uninterrupted source). */
  t0: number;
  /** Media end time in seconds (t0 + 1). */
  t1: number;
  /** Epoch milliseconds of t0: arrival-anchored for live sources, run start + t0 for files. */
  wallclock: number;
  /** Mono PCM, `sampleRate` samples, or null when the source has no audio. */
  audio: Float32Array | null;
  /** Optional second audio rate (e.g. 48 kHz for CLAP-style encoders). */
  audioHi?: Float32Array | null;
  /** `fps` RGB24 frames of width*height*3 bytes, or null when the source has no video. */
  frames: Uint8Array[] | null;
  sampleRate: number;
  sampleRateHi?: number;
  width: number;
  height: number;
  fps: number;
  /** True on the first segment after a gap (reconnect or dropped segments). */
  discontinuity?: boolean;
  /** True when the source ended inside this second and the tail was padded (see docs/ingest.md). */
  partial?: boolean;
}

/** Per-segment features produced by the encoders. */
export interface Features {
  stream: string;
  index: number;
  t0: number;
  t1: number;
  wallclock: number;
  audio?: Float32Array;
  visual?: Float32Array;
  /** Spatial visual map, row-major h x w x Dm. */
  visualMap?: Float32Array;
  mapShape?: [number, number, number];
  /** True on the first segment after a gap (copied from the Segment; see src/operators/window.ts). */
  discontinuity?: boolean;
}

/** Per-segment, per-class probabilities from the parser head (LINK/HAN). */
export interface SegmentPrediction {
  stream: string;
  index: number;
  t0: number;
  t1: number;
  wallclock: number;
  classes: readonly string[];
  audio: Float32Array;
  visual: Float32Array;
  audioVisual: Float32Array;
  /** True on the first segment after a gap: events open before it are closed (decodeEvents). */
  discontinuity?: boolean;
}

export type Modality = 'audio' | 'visual' | 'audio-visual';
export type EventPhase = 'start' | 'update' | 'end';

/** A timestamped audible / visible / audio-visual event. */
export interface AvEvent {
  id: string;
  stream: string;
  label: string;
  modality: Modality;
  phase: EventPhase;
  /** Media seconds. */
  start: number;
  end?: number;
  wallclockStart: number;
  confidence: number;
}

export type StreamState = 'starting' | 'up' | 'down' | 'reconnecting' | 'ended';

/** Lifecycle notifications of a source, for sinks and metrics. */
export interface StreamStatus {
  stream: string;
  state: StreamState;
  /** Epoch ms. */
  at: number;
  reason?: string;
  restarts: number;
  /** Segments dropped so far because the consumer was too slow (live sources). */
  dropped: number;
}

// Tensors as they cross between the inference pool, the encoders and the heads: plain objects
// whose data buffers can be transferred to worker threads.

export type TensorType = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'bool';
export type TensorArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

export interface TensorData {
  type: TensorType;
  data: TensorArray;
  dims: number[];
}

export type TensorMap = Record<string, TensorData>;

/** One inference call of one model, e.g. `(feeds) => pool.run('parser', feeds)`. */
export type RunModel = (feeds: TensorMap) => Promise<TensorMap>;
