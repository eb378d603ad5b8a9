// Runs the real `avvp` CLI (TypeScript sources through tsx) for the serve, parse and demo tests.
import { execFile, spawn, type ChildProcess } from 'node:child_process';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const ENTRY = ['--import', 'tsx', 'src/cli/main.ts'];

/** Runs `avvp <args>` to completion. */
export function avvp(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...ENTRY, ...args],
      { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

/** A long-running `avvp <args>` whose output is collected as it comes. */
export class RunningCli {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [...ENTRY, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (t: string) => (this.stdout += t));
    this.child.stderr!.setEncoding('utf8').on('data', (t: string) => (this.stderr += t));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Waits until stdout matches `pattern` (fails on exit or after `ms`). */
  async waitFor(pattern: RegExp, ms = 60_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = pattern.exec(this.stdout);
      if (m) return m;
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(
          `no ${pattern} in the output (exit ${this.child.exitCode}):\n${this.stdout}\n${this.stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  /** Last resort in afterAll: the process must not outlive the test. */
  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
