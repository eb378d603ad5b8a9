// Turns per-segment probabilities into timestamped start / update / end events, per stream, class and
// modality, with hysteresis and a minimum duration. The EventDecoder is pure (no timers, no I/O); the
// decodeEvents operator feeds it from an observable and closes open events at the end of the stream.
import { Observable, type OperatorFunction } from 'rxjs';
import type { AvEvent, Modality, SegmentPrediction } from '../types.js';

export interface Thresholds {
  /** An event opens when the probability reaches `on`... */
  on: number;
  /** ...and stays open while it stays at or above `off` (off < on: hysteresis against flicker). */
  off: number;
}

export interface DecodeOptions {
  /** Default thresholds for every class (default on 0.5, off 0.3). */
  thresholds?: Thresholds;
  /** Per-class overrides, e.g. from a model manifest. */
  classThresholds?: Readonly<Record<string, Thresholds>>;
  /**
   * Minimum event duration in seconds (default 1, i.e. one segment). An event is announced (`start`)
   * only once it has lasted this long; shorter ones are never reported.
   */
  minDuration?: number;
}

const MODALITIES: readonly Modality[] = ['audio', 'visual', 'audio-visual'];
const DEFAULT_THRESHOLDS: Thresholds = { on: 0.5, off: 0.3 };

/** One class x modality channel that is above threshold (announced or still pending). */
interface OpenEvent {
  id: string;
  start: number;
  wallclockStart: number;
  /** Media end of the last segment that held. */
  end: number;
  sum: number;
  count: number;
  announced: boolean;
}

interface StreamState {
  lastIndex: number;
  lastT1: number;
  /** Keyed by `${modality}\u0000${label}`. */
  open: Map<string, OpenEvent>;
}

export class EventDecoder {
  private readonly streams = new Map<string, StreamState>();
  private readonly defaults: Thresholds;
  private readonly classThresholds: Readonly<Record<string, Thresholds>>;
  private readonly minDuration: number;

  constructor(options: DecodeOptions = {}) {
    this.defaults = checkThresholds(options.thresholds ?? DEFAULT_THRESHOLDS, 'thresholds');
    this.classThresholds = options.classThresholds ?? {};
    for (const [label, t] of Object.entries(this.classThresholds))
      checkThresholds(t, `thresholds of "${label}"`);
    this.minDuration = options.minDuration ?? 1;
    if (!Number.isFinite(this.minDuration) || this.minDuration < 0) {
      throw new RangeError(
        `decodeEvents: minDuration must be a number of seconds >= 0, got ${options.minDuration}`,
      );
    }
  }

  /** Feeds one segment's prediction; returns the events it causes, in a deterministic order. */
  push(p: SegmentPrediction): AvEvent[] {
    checkPrediction(p);
    const events: AvEvent[] = [];
    let state = this.streams.get(p.stream);
    if (state && p.index <= state.lastIndex) {
      throw new Error(
        `decodeEvents: stream "${p.stream}" went back from segment ${state.lastIndex} to ${p.index}; ` +
          'predictions must arrive in increasing segment order',
      );
    }
    if (state && (p.discontinuity || p.index !== state.lastIndex + 1)) {
      // A gap: whatever was happening before it cannot be assumed to continue through it.
      events.push(...this.closeAll(p.stream, state));
    }
    if (!state) {
      state = { lastIndex: p.index, lastT1: p.t1, open: new Map() };
      this.streams.set(p.stream, state);
    }
    state.lastIndex = p.index;
    state.lastT1 = p.t1;

    p.classes.forEach((label, c) => {
      const { on, off } = this.classThresholds[label] ?? this.defaults;
      // An audio-visual event is one that is both audible and visible: both probabilities must hold.
      const probs = [p.audio[c], p.visual[c], Math.min(p.audio[c], p.visual[c])];
      MODALITIES.forEach((modality, m) => {
        const key = `${modality}\u0000${label}`;
        const prob = probs[m];
        const open = state.open.get(key);
        if (!open) {
          if (prob < on) return;
          const fresh: OpenEvent = {
            id: `${p.stream}:${modality}:${label}:${p.index}`,
            start: p.t0,
            wallclockStart: p.wallclock,
            end: p.t1,
            sum: prob,
            count: 1,
            announced: false,
          };
          state.open.set(key, fresh);
          this.announceIfLongEnough(p.stream, label, modality, fresh, events);
          return;
        }
        if (prob < off) {
          state.open.delete(key);
          if (open.announced) events.push(this.event(p.stream, label, modality, open, 'end'));
          return;
        }
        open.end = p.t1;
        open.sum += prob;
        open.count += 1;
        if (open.announced) events.push(this.event(p.stream, label, modality, open, 'update'));
        else this.announceIfLongEnough(p.stream, label, modality, open, events);
      });
    });
    return events;
  }

  /** Ends every open event of `stream` (or of all streams) at the end of its last segment. */
  flush(stream?: string): AvEvent[] {
    const names = stream === undefined ? [...this.streams.keys()] : [stream];
    const events: AvEvent[] = [];
    for (const name of names) {
      const state = this.streams.get(name);
      if (!state) continue;
      events.push(...this.closeAll(name, state));
      this.streams.delete(name);
    }
    return events;
  }

  private closeAll(stream: string, state: StreamState): AvEvent[] {
    const events: AvEvent[] = [];
    for (const [key, open] of state.open) {
      const [modality, label] = key.split('\u0000') as [Modality, string];
      if (open.announced) events.push(this.event(stream, label, modality, open, 'end'));
    }
    state.open.clear();
    return events;
  }

  private announceIfLongEnough(
    stream: string,
    label: string,
    modality: Modality,
    open: OpenEvent,
    events: AvEvent[],
  ): void {
    // The epsilon absorbs float error in t0/t1 sums (durations are whole seconds in practice).
    if (open.end - open.start + 1e-9 < this.minDuration) return;
    open.announced = true;
    events.push(this.event(stream, label, modality, open, 'start'));
  }

  private event(
    stream: string,
    label: string,
    modality: Modality,
    open: OpenEvent,
    phase: AvEvent['phase'],
  ): AvEvent {
    return {
      id: open.id,
      stream,
      label,
      modality,
      phase,
      start: open.start,
      end: open.end,
      wallclockStart: open.wallclockStart,
      // Mean probability over the event so far: stable, and comparable between start and end.
      confidence: open.sum / open.count,
    };
  }
}

export interface DecodeEventsOptions extends DecodeOptions {
  /**
   * Stream names whose open events must end now, e.g. when a live source goes down: its events end
   * at the end of its last segment instead of staying open through the outage.
   */
  closeOn?: Observable<string>;
}

/**
 * Operator: SegmentPrediction (one or many streams, each in increasing segment order) -> AvEvent.
 * Open events are ended when the input completes, and per stream when `closeOn` names it.
 */
export function decodeEvents(
  options: DecodeEventsOptions = {},
): OperatorFunction<SegmentPrediction, AvEvent> {
  return (source) =>
    new Observable<AvEvent>((subscriber) => {
      const decoder = new EventDecoder(options);
      const emit = (events: AvEvent[]) => {
        for (const e of events) subscriber.next(e);
      };
      const upstream = source.subscribe({
        next: (prediction) => {
          let events: AvEvent[];
          try {
            events = decoder.push(prediction);
          } catch (err) {
            subscriber.error(err);
            return;
          }
          emit(events);
        },
        error: (err) => subscriber.error(err),
        complete: () => {
          emit(decoder.flush());
          subscriber.complete();
        },
      });
      // Subscribed after the source, so that when one observable feeds both parse's flushOn and this,
      // parse's last predictions arrive before the stream's events are closed.
      const closing = options.closeOn?.subscribe({
        next: (stream) => emit(decoder.flush(stream)),
        error: (err) => subscriber.error(err),
      });
      return () => {
        closing?.unsubscribe();
        upstream.unsubscribe();
      };
    });
}

function checkThresholds(t: Thresholds, what: string): Thresholds {
  const ok = Number.isFinite(t.on) && Number.isFinite(t.off) && t.on <= 1 && t.off >= 0 && t.off < t.on;
  if (!ok) {
    throw new RangeError(
      `decodeEvents: ${what} must satisfy 0 <= off < on <= 1, got on=${t.on} off=${t.off}`,
    );
  }
  return t;
}

function checkPrediction(p: SegmentPrediction): void {
  const n = p.classes.length;
  for (const [name, values] of [
    ['audio', p.audio],
    ['visual', p.visual],
  ] as const) {
    if (values.length !== n) {
      throw new Error(
        `decodeEvents: stream "${p.stream}" segment ${p.index} has ${values.length} ${name} probabilities ` +
          `for ${n} classes; the head's output does not match its class list`,
      );
    }
    for (let c = 0; c < n; c++) {
      if (!(values[c] >= 0 && values[c] <= 1)) {
        throw new Error(
          `decodeEvents: stream "${p.stream}" segment ${p.index} has ${name} probability ${values[c]} ` +
            `for "${p.classes[c]}"; probabilities must lie in [0, 1] (is the head's output a sigmoid?)`,
        );
      }
    }
  }
}
