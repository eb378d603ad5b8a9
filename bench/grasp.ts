// GRaSP wall time over a table of p x n on simulated linear-Gaussian data (Erdos-Renyi DAG with
// 1.5 p edges, weights +-U(0.3, 1), unit noise), against two baselines measured in the same run:
//   - the same search re-running grow-shrink from scratch for every parent choice (no trees);
//   - for small p, the exact score-optimal DAG by dynamic programming (time and optimality).
// Times are milliseconds (ratios on CPU time); each cell is the median over RUNS seeds. Usage: npm run bench:grasp [-- --runs N]
import { Rng } from '../src/util/rng.js';
import { covarianceOf } from '../src/causal/covariance.js';
import { cpdagOf, structuralHammingDistance } from '../src/causal/cpdag.js';
import { exactBestDag } from '../src/causal/exact.js';
import { grasp, type GraspOptions } from '../src/causal/grasp.js';
import { BicScore } from '../src/causal/score.js';
import { randomLinearSem, sampleLinearSem } from '../src/causal/simulate.js';
import { median } from './stats.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const OPTIONS: GraspOptions = { lambda: 1, depth: 3, restarts: 3 };

function problem(p: number, n: number, seed: number) {
  const rng = new Rng(1000 * p + seed);
  const sem = randomLinearSem(p, Math.round(1.5 * p), rng);
  return { sem, data: sampleLinearSem(sem, n, rng) };
}

/**
 * CPU time (user + system) and wall time of f. The search is single-threaded, and CPU time is
 * far less disturbed than wall time by other processes on a shared machine: ratios use it.
 */
function timed<T>(f: () => T, repeats: number): { value: T; ms: number; wallMs: number } {
  const start = process.cpuUsage();
  const wall = performance.now();
  let value = f();
  for (let k = 1; k < repeats; k++) value = f();
  const wallMs = (performance.now() - wall) / repeats;
  const used = process.cpuUsage(start);
  return { value, ms: (used.user + used.system) / 1000 / repeats, wallMs };
}

/** Small problems take milliseconds: repeat them so that timer and GC noise average out. */
const repeatsFor = (p: number) => (p <= 20 ? 20 : 1);

// Warm-up, so that the first cell does not pay for JIT compilation.
for (const trees of [true, false]) grasp(problem(20, 500, 99).data, { ...OPTIONS, trees });
exactBestDag(new BicScore(covarianceOf(problem(8, 500, 99).data), { lambda: 1 }));

console.log(
  `GRaSP (lambda 1, depth 3, 3 restarts), median of ${RUNS} seeds per cell; Node ${process.version}\n`,
);
console.log(
  '| p | n | edges (true) | GRaSP wall ms | GRaSP CPU ms | no-trees CPU ms | speed-up (CPU) | SHD to true CPDAG | score evals (trees / none) |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const p of [10, 20, 50, 100]) {
  for (const n of [500, 2000]) {
    const rows = Array.from({ length: RUNS }, (_, seed) => {
      const { sem, data } = problem(p, n, seed);
      const fast = timed(() => grasp(data, { ...OPTIONS, seed }), repeatsFor(p));
      const slow = timed(() => grasp(data, { ...OPTIONS, seed, trees: false }), repeatsFor(p));
      if (JSON.stringify(slow.value.dag) !== JSON.stringify(fast.value.dag))
        throw new Error('baseline differs');
      return {
        wall: fast.wallMs,
        fast: fast.ms,
        slow: slow.ms,
        shd: structuralHammingDistance(fast.value.cpdag, cpdagOf(sem.parents)),
        evals: fast.value.scoreEvaluations,
        evalsSlow: slow.value.scoreEvaluations,
      };
    });
    const fast = median(rows.map((r) => r.fast));
    const slow = median(rows.map((r) => r.slow));
    console.log(
      `| ${p} | ${n} | ${Math.round(1.5 * p)} | ${median(rows.map((r) => r.wall)).toFixed(0)} | ${fast.toFixed(0)} | ${slow.toFixed(0)} | ${(slow / fast).toFixed(1)}x | ` +
        `${median(rows.map((r) => r.shd))} (max ${Math.max(...rows.map((r) => r.shd))}) | ` +
        `${median(rows.map((r) => r.evals))} / ${median(rows.map((r) => r.evalsSlow))} |`,
    );
  }
}

console.log('\nAgainst the exact optimum (dynamic programming over subsets), n = 2000\n');
console.log(
  '| p | GRaSP CPU ms | exact CPU ms | exact / GRaSP | GRaSP reached the optimum | 1 restart reached it | SHD GRaSP / optimum to truth |',
);
console.log('|---|---|---|---|---|---|---|');
for (const p of [10, 14]) {
  const rows = Array.from({ length: RUNS }, (_, seed) => {
    const { sem, data } = problem(p, 2000, seed);
    const truth = cpdagOf(sem.parents);
    const fast = timed(() => grasp(data, { ...OPTIONS, seed }), repeatsFor(p));
    const single = grasp(data, { ...OPTIONS, seed, restarts: 1 });
    const exact = timed(() => exactBestDag(new BicScore(covarianceOf(data), { lambda: 1 })), repeatsFor(p));
    return {
      fast: fast.ms,
      exact: exact.ms,
      hit: fast.value.score > exact.value.score - 1e-6,
      singleHit: single.score > exact.value.score - 1e-6,
      shd: structuralHammingDistance(fast.value.cpdag, truth),
      shdExact: structuralHammingDistance(cpdagOf(exact.value.parents), truth),
    };
  });
  const fast = median(rows.map((r) => r.fast));
  const exact = median(rows.map((r) => r.exact));
  console.log(
    `| ${p} | ${fast.toFixed(0)} | ${exact.toFixed(0)} | ${(exact / fast).toFixed(1)}x | ` +
      `${rows.filter((r) => r.hit).length}/${RUNS} | ${rows.filter((r) => r.singleHit).length}/${RUNS} | ` +
      `${rows.map((r) => r.shd).join(' ')} / ${rows.map((r) => r.shdExact).join(' ')} |`,
  );
}
