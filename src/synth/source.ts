// synthSource: SynthAV as a media source. It yields the same Segment stream as fromMedia, clip
// after clip with continuing indices, with the same delivery rules as a file source (a slow or
// asynchronous consumer pauses generation, nothing is dropped; optional real-time pacing), so no
// operator can tell it from a camera or a file.
import { Observable } from 'rxjs';
import type { Segment } from '../types.js';
import { Delivery } from '../streams/delivery.js';
import { resolveOptions, synthClips, type SynthOptions } from './clip.js';

export interface SynthSourceOptions extends SynthOptions {
  /** Stream name carried by every segment (default 'synth'). */
  stream?: string;
  /** Clips to play back to back (default: endless). */
  clips?: number;
  /** First clip index (default 0). */
  firstClip?: number;
  /** Deliver segment k no earlier than k + 1 seconds after subscription, like a live camera. */
  realtime?: boolean;
  /** Acknowledge each finished segment here to get flow control for asynchronous consumers. */
  consumed?: Observable<unknown>;
  /** With `consumed`: most segments out without acknowledgement (default 1). */
  maxPending?: number;
}

export function synthSource(options: SynthSourceOptions): Observable<Segment> {
  const count = options.clips ?? Infinity;
  if (!(count >= 0) || (Number.isFinite(count) && !Number.isInteger(count))) {
    throw new RangeError(`synthSource: clips must be a non-negative integer or Infinity, got ${count}`);
  }
  const maxPending = options.maxPending ?? 1;
  if (!Number.isInteger(maxPending) || maxPending < 1) {
    throw new RangeError(`synthSource: maxPending must be a positive integer, got ${maxPending}`);
  }
  const firstClip = options.firstClip ?? 0;
  if (!Number.isInteger(firstClip) || firstClip < 0) {
    throw new RangeError(`synthSource: firstClip must be a non-negative integer, got ${firstClip}`);
  }
  resolveOptions(options); // fail at the call, not at subscription
  return new Observable<Segment>((subscriber) => {
    const started = Date.now();
    const clips = synthClips(options, count, firstClip);
    let clip = clips.next();
    let k = 0;
    let index = 0;
    let paused = false;
    let ended = false;
    let timer: NodeJS.Immediate | null = null;
    const delivery = new Delivery(subscriber, {
      policy: 'backpressure',
      maxPending,
      queueSize: Infinity,
      consumed: options.consumed,
      paceStartMs: options.realtime ? started : undefined,
      onPressure: (isPaused) => {
        paused = isPaused;
        schedule();
      },
    });
    // one segment per turn of the event loop, and none while a delivered one is still waiting
    const schedule = () => {
      if (timer === null && !paused && !ended && !subscriber.closed) timer = setImmediate(produce);
    };
    const produce = () => {
      timer = null;
      if (paused || subscriber.closed) return;
      if (clip.done) {
        ended = true;
        delivery.end();
        return;
      }
      const segment = clip.value.segment(k, {
        stream: options.stream ?? 'synth',
        index,
        wallclock: started + index * 1000,
      });
      index++;
      if (++k === clip.value.options.duration) {
        clip = clips.next();
        k = 0;
      }
      delivery.offer(segment);
      schedule();
    };
    schedule();
    return () => {
      if (timer !== null) clearImmediate(timer);
      delivery.dispose();
    };
  });
}
