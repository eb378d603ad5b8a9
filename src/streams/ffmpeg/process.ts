// Spawns ffmpeg with raw output pipes on fds 1, 3 and 4, drains stderr into a bounded ring of
// lines (for error messages and the input description), and kills + reaps the process.
import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import type { Readable } from 'node:stream';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  spawnError?: Error;
}

const HEAD_LINES = 200;
const TAIL_LINES = 50;

export class FfmpegProcess {
  /** Readable for each requested fd (1, 3, 4). */
  readonly pipes = new Map<number, Readable>();
  /** Resolves once the process has exited and been reaped. */
  readonly exited: Promise<ExitInfo>;
  private readonly child: ChildProcess;
  private readonly head: string[] = [];
  private readonly tail: string[] = [];
  private partialLine = '';
  private readonly lineListeners: ((line: string) => void)[] = [];

  /** `nice`: raise the process's niceness by this much (0-19) right after it starts. */
  constructor(binary: string, args: string[], dataFds: number[], opts: { nice?: number } = {}) {
    const maxFd = Math.max(2, ...dataFds);
    const stdio: ('ignore' | 'pipe')[] = ['ignore', 'pipe', 'pipe'];
    for (let fd = 3; fd <= maxFd; fd++) stdio.push('pipe');
    this.child = spawn(binary, args, { stdio });
    if (opts.nice && this.child.pid !== undefined) {
      try {
        setPriority(this.child.pid, opts.nice);
      } catch {
        // the process already exited (its exit is reported as usual) or the OS refuses: run unniced
      }
    }
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => resolve({ code: null, signal: null, spawnError: err }));
      this.child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    for (let fd = 1; fd <= maxFd; fd++) {
      if (fd === 2) continue;
      const pipe = this.child.stdio[fd] as Readable;
      if (dataFds.includes(fd)) this.pipes.set(fd, pipe);
      else pipe.resume(); // an unused pipe is still drained
    }
    const stderr = this.child.stderr!;
    stderr.setEncoding('utf8');
    stderr.on('data', (text: string) => this.onStderr(text));
  }

  onLine(listener: (line: string) => void): void {
    this.lineListeners.push(listener);
  }

  /** The first lines of stderr (ffmpeg's input description lives there). */
  headLines(): readonly string[] {
    return this.head;
  }

  /** The last few stderr lines, for error messages. */
  tailText(lines = 8): string {
    const all = this.partialLine ? [...this.tail, this.partialLine] : this.tail;
    return all
      .filter((l) => !/^\s*(frame=|video:|size=)/.test(l))
      .slice(-lines)
      .join('\n');
  }

  /** SIGKILL (ffmpeg has nothing to flush for us, and a hung RTSP read ignores SIGINT/SIGTERM). */
  async kill(): Promise<ExitInfo> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    for (const pipe of this.pipes.values()) pipe.destroy();
    return this.exited;
  }

  private onStderr(text: string): void {
    const lines = (this.partialLine + text).split(/\r?\n|\r/);
    this.partialLine = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') continue;
      if (this.head.length < HEAD_LINES) this.head.push(line);
      this.tail.push(line);
      if (this.tail.length > TAIL_LINES) this.tail.shift();
      for (const listener of this.lineListeners) listener(line);
    }
  }
}
