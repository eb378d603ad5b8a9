// Shared by batch and overload: runs several jobs at once and emits their outputs in the order the
// jobs were started, whatever order they finish in (so each stream's order survives concurrency).
import { defer, from, type ObservableInput, type Subscriber, type Subscription } from 'rxjs';

export class OrderedWork<O> {
  /** Jobs started and not yet completed. */
  active = 0;
  private readonly running = new Set<Subscription>();
  private readonly finished = new Map<number, O[]>();
  private nextToStart = 0;
  private nextToEmit = 0;

  constructor(private readonly out: Subscriber<O>) {}

  /**
   * Subscribes to `work()`; when it completes, `toOutputs(values)` are emitted after the outputs of
   * every job started earlier, then `onFinished` runs. An error (from the job or from `toOutputs`)
   * goes to the output subscriber.
   */
  start<R>(work: () => ObservableInput<R>, toOutputs: (values: R[]) => O[], onFinished: () => void): void {
    const seq = this.nextToStart++;
    const values: R[] = [];
    let completed = false;
    let subscription: Subscription | undefined = undefined;
    this.active++;
    subscription = from(defer(work)).subscribe({
      next: (value) => values.push(value),
      error: (err) => this.out.error(err),
      complete: () => {
        completed = true;
        if (subscription) this.running.delete(subscription);
        this.active--;
        try {
          this.finished.set(seq, toOutputs(values));
        } catch (err) {
          this.out.error(err);
          return;
        }
        this.emitReady();
        onFinished();
      },
    });
    // A job that completed synchronously is already done and must not be tracked.
    if (!completed) this.running.add(subscription);
  }

  /** Unsubscribes from every running job (teardown). */
  stop(): void {
    for (const subscription of this.running) subscription.unsubscribe();
    this.running.clear();
  }

  private emitReady(): void {
    while (this.finished.has(this.nextToEmit)) {
      const outputs = this.finished.get(this.nextToEmit)!;
      this.finished.delete(this.nextToEmit++);
      for (const o of outputs) this.out.next(o);
    }
  }
}
