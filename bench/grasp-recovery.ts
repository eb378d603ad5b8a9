// GRaSP recovery on simulated linear-Gaussian data, the settings of the measurements of the
// reference implementations in the research notes (ER DAGs, weights +-U(0.3, 1), unit noise):
// mean SHD between the CPDAG found and the true CPDAG over GRAPHS graphs, per lambda, depth and
// restart count; for p <= 12 also the SHD of the exact BIC optimum (what a perfect search gets).
// Usage: npm run bench:grasp-recovery [-- --graphs N]
import { Rng } from '../src/util/rng.js';
import { covarianceOf } from '../src/causal/covariance.js';
import { cpdagOf, structuralHammingDistance } from '../src/causal/cpdag.js';
import { exactBestDag } from '../src/causal/exact.js';
import { grasp } from '../src/causal/grasp.js';
import { BicScore } from '../src/causal/score.js';
import { randomLinearSem, sampleLinearSem } from '../src/causal/simulate.js';

const graphsArg = process.argv.indexOf('--graphs');
const GRAPHS = graphsArg > 0 ? Number(process.argv[graphsArg + 1]) : 10;
const SETTINGS = [
  { p: 8, edges: 8, n: 2000 },
  { p: 12, edges: 16, n: 2000 },
  { p: 20, edges: 28, n: 5000 },
];

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

console.log(`Mean SHD to the true CPDAG over ${GRAPHS} graphs (max in brackets); seed = graph index\n`);
console.log(
  '| p, edges, n | lambda | exact optimum | depth 1 | depth 2 | depth 3 | depth 3, 5 restarts | optimum reached (depth 3: 1 / 5 restarts) |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const { p, edges, n } of SETTINGS) {
  const problems = Array.from({ length: GRAPHS }, (_, g) => {
    const rng = new Rng(7919 * p + g);
    const sem = randomLinearSem(p, edges, rng);
    return { truth: cpdagOf(sem.parents), data: sampleLinearSem(sem, n, rng) };
  });
  for (const lambda of [0.5, 1, 2]) {
    const cell = (depth: number, restarts: number) => {
      const shd = problems.map(({ truth, data }, seed) =>
        structuralHammingDistance(grasp(data, { lambda, depth, restarts, seed }).cpdag, truth),
      );
      return `${mean(shd).toFixed(1)} (${Math.max(...shd)})`;
    };
    let exactCell = 'n/a';
    let reached = 'n/a';
    if (p <= 12) {
      const optima = problems.map(({ data }) => exactBestDag(new BicScore(covarianceOf(data), { lambda })));
      const shd = optima.map((o, g) => structuralHammingDistance(cpdagOf(o.parents), problems[g].truth));
      exactCell = `${mean(shd).toFixed(1)} (${Math.max(...shd)})`;
      const hits = (restarts: number) =>
        problems.filter(
          ({ data }, seed) => grasp(data, { lambda, restarts, seed }).score > optima[seed].score - 1e-6,
        ).length;
      reached = `${hits(1)}/${GRAPHS} / ${hits(5)}/${GRAPHS}`;
    }
    console.log(
      `| ${p}, ${edges}, ${n} | ${lambda} | ${exactCell} | ${cell(1, 1)} | ${cell(2, 1)} | ${cell(3, 1)} | ` +
        `${cell(3, 5)} | ${reached} |`,
    );
  }
}
