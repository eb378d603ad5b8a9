// Supervisor for live sources (RTSP cameras, streams): every end of an ffmpeg run is a
// disconnect (ffmpeg 5.1 exits 0 when an RTSP server dies), so it respawns with capped
// exponential backoff and jitter, reports up/down/reconnecting, and gives up only after
// `maxRetries` consecutive attempts that delivered no data.
import type { StreamState } from '../types.js';
import type { DecodeEnd } from './ffmpeg/decode.js';

export interface BackoffOptions {
  /** Delay before the first retry. */
  initialMs: number;
  /** Cap of the exponential growth. */
  maxMs: number;
  factor: number;
  /** Relative spread: the delay is multiplied by a uniform factor in [1 - jitter, 1 + jitter]. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };

/** Delay before retry number `attempt` (1-based) of a run of consecutive failures. */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(o.maxMs, o.initialMs * o.factor ** Math.max(0, attempt - 1));
  return Math.min(o.maxMs, base * (1 - o.jitter + 2 * o.jitter * random()));
}

export interface LiveSupervisorOptions {
  backoff: BackoffOptions;
  /** Give up after this many consecutive attempts without data (Infinity: never). */
  maxRetries: number;
  random?: () => number;
}

/** One connection attempt, as started by the owner (a DecodeRun). */
export interface LiveAttempt {
  done: Promise<DecodeEnd>;
  stop(): Promise<unknown>;
}

export interface LiveSupervisorHooks {
  connect(): LiveAttempt;
  /** A run ended with kind 'layout': adjust what is decoded (may throw) and reconnect at once. */
  adapt(end: DecodeEnd): void;
  status(state: StreamState, reason?: string): void;
  fail(error: Error): void;
}

export class LiveSupervisor {
  /** Respawns after a disconnect (layout adaptations are not counted). */
  restarts = 0;
  private stopped = false;
  private current: LiveAttempt | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly opts: LiveSupervisorOptions,
    private readonly hooks: LiveSupervisorHooks,
  ) {}

  start(): void {
    this.loop().catch((err: unknown) => this.hooks.fail(err instanceof Error ? err : new Error(String(err))));
  }

  /** Stops the current attempt (killing ffmpeg) and any pending retry. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.current?.stop();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      this.current = this.hooks.connect();
      const end = await this.current.done;
      this.current = null;
      if (this.stopped) return;
      if (end.kind === 'layout') {
        this.hooks.adapt(end);
        continue;
      }
      failures = end.bytes > 0 ? 1 : failures + 1;
      this.hooks.status('down', end.reason);
      if (failures > this.opts.maxRetries) {
        const tries = failures === 1 ? '1 attempt' : `${failures} consecutive attempts`;
        throw new Error(`gave up after ${tries} without data; last: ${end.reason}`);
      }
      const delay = backoffDelay(failures, this.opts.backoff, this.opts.random);
      this.hooks.status(
        'reconnecting',
        `retry ${failures} in ${(delay / 1000).toFixed(1)} s (${end.reason})`,
      );
      await this.sleep(delay);
      if (this.stopped) return;
      this.restarts++;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
