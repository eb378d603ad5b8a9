// Progress display for long work (downloads, extraction, training, generation). On a TTY it
// redraws one line with a bar, rate and ETA; otherwise it prints plain log lines at most
// every `logEveryMs`, so CI logs stay readable.

export interface ProgressOptions {
  label: string;
  total?: number;
  /** Unit shown after counts, e.g. 'clips' or 'B' (bytes get KiB/MiB formatting). */
  unit?: string;
  stream?: NodeJS.WriteStream;
  logEveryMs?: number;
  /** Force plain-line mode (default: plain when the stream is not a TTY). */
  plain?: boolean;
}

export class Progress {
  private done = 0;
  private readonly started = Date.now();
  private lastDraw = 0;
  private extra = '';
  private readonly stream: NodeJS.WriteStream;
  private readonly plain: boolean;
  private finished = false;
  /** Count and status at the last printed line, so finish() does not repeat it in plain mode. */
  private drawn: { done: number; extra: string } | null = null;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.plain = opts.plain ?? !this.stream.isTTY;
  }

  /** Advance by `n` (default 1); `extra` is a short status such as the current loss. */
  tick(n = 1, extra?: string): void {
    this.update(this.done + n, extra);
  }

  update(done: number, extra?: string): void {
    this.done = done;
    if (extra !== undefined) this.extra = extra;
    const now = Date.now();
    const every = this.plain ? (this.opts.logEveryMs ?? 5000) : 100;
    if (now - this.lastDraw >= every) {
      this.lastDraw = now;
      this.draw(false);
    }
  }

  finish(extra?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (extra !== undefined) this.extra = extra;
    const unchanged = this.drawn?.done === this.done && this.drawn.extra === this.extra;
    if (this.plain && unchanged) return;
    this.draw(true);
  }

  /** The line as it would be printed (exported for tests). */
  line(): string {
    const { total, label } = this.opts;
    const elapsed = (Date.now() - this.started) / 1000;
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    const parts = [label];
    if (total !== undefined && total > 0) {
      const frac = Math.min(1, this.done / total);
      if (!this.plain) parts.push(`[${'#'.repeat(Math.round(frac * 24)).padEnd(24, '.')}]`);
      parts.push(`${this.fmt(this.done)}/${this.fmt(total)}`, `${(frac * 100).toFixed(1)}%`);
      if (rate > 0 && frac < 1) parts.push(`ETA ${formatDuration((total - this.done) / rate)}`);
    } else {
      parts.push(this.fmt(this.done));
    }
    parts.push(`${this.fmt(rate)}/s`, `elapsed ${formatDuration(elapsed)}`);
    if (this.extra) parts.push(this.extra);
    return parts.join(' ');
  }

  private draw(final: boolean): void {
    this.drawn = { done: this.done, extra: this.extra };
    const text = this.line();
    if (this.plain) this.stream.write(text + '\n');
    else this.stream.write(`\r\x1b[2K${text}${final ? '\n' : ''}`);
  }

  private fmt(x: number): string {
    const unit = this.opts.unit ?? '';
    if (unit === 'B') return formatBytes(x);
    const n = Number.isInteger(x) ? String(x) : x.toFixed(1);
    return unit ? `${n} ${unit}` : n;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
