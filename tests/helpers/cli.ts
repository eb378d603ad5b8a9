// Runs the real `avvp` CLI (the TypeScript sources through tsx) as a child process, for CLI tests.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface CliRun {
  /** Exit status; 1 when the process was killed (e.g. by the timeout). */
  code: number;
  stdout: string;
  stderr: string;
}

const ROOT = path.resolve(import.meta.dirname, '../..');
const ENTRY = ['--import', 'tsx', 'src/cli/main.ts'];

/** Runs `avvp <args>` to completion; `env` is added to this process's environment. */
export function runAvvp(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliRun> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [...ENTRY, ...args],
      {
        cwd: ROOT,
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    ),
  );
}

/** A long-running `avvp <args>` whose output is collected as it comes. */
export class RunningCli {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [...ENTRY, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (t: string) => (this.stdout += t));
    this.child.stderr!.setEncoding('utf8').on('data', (t: string) => (this.stderr += t));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** null while the process runs. */
  get exitCode(): number | null {
    return this.child.exitCode;
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
