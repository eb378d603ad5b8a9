// Learning-rate schedules: plain functions of the 0-based step, evaluated in JS and fed to the
// training-step graph as a scalar each step.

export type Schedule = (step: number) => number;

export function constant(lr: number): Schedule {
  return () => lr;
}

/** Linear warm-up from 0 to `base` over `warmup` steps, then cosine decay to `min` at `total`. */
export function warmupCosine(opts: { base: number; warmup: number; total: number; min?: number }): Schedule {
  const { base, warmup, total } = opts;
  const min = opts.min ?? 0;
  if (total <= 0 || warmup < 0 || warmup > total)
    throw new Error(`warmupCosine: need 0 <= warmup (${warmup}) <= total (${total}), total > 0`);
  return (step) => {
    if (step < warmup) return (base * (step + 1)) / warmup;
    const progress = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
    return min + 0.5 * (base - min) * (1 + Math.cos(Math.PI * progress));
  };
}

/** Multiply by `gamma` every `every` steps. */
export function stepDecay(opts: { base: number; every: number; gamma: number }): Schedule {
  if (opts.every <= 0) throw new Error(`stepDecay: 'every' must be positive, got ${opts.every}`);
  return (step) => opts.base * opts.gamma ** Math.floor(step / opts.every);
}
