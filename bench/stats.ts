// Small measurement helpers shared by the benchmark scripts.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/**
 * CPU seconds of this process (all threads) plus its reaped children, from Linux
 * /proc/self/stat: a child's time counts once it has exited and been waited for.
 */
export function cpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((i) => Number(fields[i]));
  return (utime + stime + cutime + cstime) / CLK_TCK;
}

export interface Sample {
  /** Seconds. */
  wall: number;
  cpu: number;
}

/** Wall and CPU seconds (cpuSeconds) of one run of `work`. */
export async function measure(work: () => Promise<unknown>): Promise<Sample> {
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  await work();
  return { wall: (performance.now() - t0) / 1000, cpu: cpuSeconds() - cpu0 };
}

/**
 * Largest absolute difference of `b` from `a`, relative to the largest |a| (at least `floor`);
 * Infinity when a value is NaN on one side only.
 */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number {
  let worst = 0;
  let norm = floor;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(Number(a[i]) - Number(b[i]));
    worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
    norm = Math.max(norm, Math.abs(Number(a[i])));
  }
  return worst / norm;
}
