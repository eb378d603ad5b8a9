// synthSource: SynthAV as a media source. It yields the same Segment stream as fromMedia, clip
// after clip with continuing indices, so no operator can tell it from a camera or a file.
import { Observable } from 'rxjs';
import type { Segment } from '../../types.js';
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
}

export function synthSource(options: SynthSourceOptions): Observable<Segment> {
  const count = options.clips ?? Infinity;
  if (!(count >= 0) || (Number.isFinite(count) && !Number.isInteger(count))) {
    throw new RangeError(`synthSource: clips must be a non-negative integer or Infinity, got ${count}`);
  }
  resolveOptions(options); // fail at the call, not at subscription
  return new Observable<Segment>((subscriber) => {
    const clips = synthClips(options, count, options.firstClip ?? 0);
    const started = Date.now();
    let timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
    let clip = clips.next();
    let k = 0;
    let index = 0;
    const emitNext = () => {
      timer = null;
      if (clip.done) {
        subscriber.complete();
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
      subscriber.next(segment);
      schedule();
    };
    const schedule = () => {
      if (subscriber.closed) return;
      // yield to the event loop between segments; in real time, wait until the second has passed
      timer = options.realtime
        ? setTimeout(emitNext, Math.max(0, started + (index + 1) * 1000 - Date.now()))
        : setImmediate(emitNext);
    };
    schedule();
    return () => {
      if (timer === null) return;
      if (options.realtime) clearTimeout(timer as NodeJS.Timeout);
      else clearImmediate(timer as NodeJS.Immediate);
    };
  });
}
