// Test helper: subscribes to fromMedia and records segments, statuses and the outcome, with a
// bounded wait for conditions (live sources deliver in real time).
import type { Subscription } from 'rxjs';
import { fromMedia, type MediaOptions } from '../../src/streams/fromMedia.js';
import type { Segment, StreamStatus } from '../../src/types.js';

export class Recorder {
  readonly segments: Segment[] = [];
  readonly statuses: StreamStatus[] = [];
  error: Error | null = null;
  completed = false;
  private readonly subscription: Subscription;

  constructor(source: string, options: MediaOptions = {}) {
    this.subscription = fromMedia(source, { ...options, onStatus: (s) => this.statuses.push(s) }).subscribe({
      next: (s) => this.segments.push(s),
      error: (e: Error) => (this.error = e),
      complete: () => (this.completed = true),
    });
  }

  /** Resolves when `cond` holds; rejects after `timeoutMs` (or on a source error) saying what was awaited. */
  async until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (this.error) throw new Error(`while waiting for ${what}: ${this.error.message}`);
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; segments ${this.segments.map((s) => s.index).join(',')}; ` +
            `statuses ${this.statuses.map((s) => `${s.state}${s.reason ? `(${s.reason})` : ''}`).join(' ')}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  states(): string[] {
    return this.statuses.map((s) => s.state);
  }

  stop(): void {
    this.subscription.unsubscribe();
  }
}

/** Polls `cond` every 20 ms until it holds or `timeoutMs` passed; returns whether it held. */
export async function eventually(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
