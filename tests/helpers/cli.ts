// Runs the real `avvp` CLI (the TypeScript sources through tsx) as a child process, for CLI tests.
import { execFile } from 'node:child_process';
import path from 'node:path';

export interface CliRun {
  /** Exit status; 1 when the process was killed (e.g. by the timeout). */
  code: number;
  stdout: string;
  stderr: string;
}

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Runs `avvp <args>` to completion. */
export function runAvvp(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliRun> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { cwd: ROOT, env: options.env ?? process.env, timeout: options.timeoutMs ?? 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    ),
  );
}
