// Static shape bookkeeping for the builder: dimensions are numbers or symbolic names
// ('batch'; derived ones such as 'batch*10'), checked with numpy broadcasting rules.

export type Dim = number | string;
export type Shape = Dim[];

/** A build-time shape or type mistake, naming the layer scope and the op. */
export class ShapeError extends Error {
  constructor(scope: string, message: string) {
    super(`${scope}: ${message}`);
    this.name = 'ShapeError';
  }
}

/** numpy broadcasting of two shapes; `fail` is called with a message on a definite mismatch. */
export function broadcastShapes(a: Shape, b: Shape, fail: (message: string) => never): Shape {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else if (typeof da === 'number' && typeof db === 'number') {
      fail(`shapes [${a}] and [${b}] do not broadcast (dimension ${da} vs ${db})`);
    } else if (typeof da === 'number') out.push(da);
    else if (typeof db === 'number') out.push(db);
    else fail(`symbolic dimensions '${da}' and '${db}' of [${a}] and [${b}] cannot be proven equal`);
  }
  return out;
}

/** A dimension as a numeric factor times a sorted list of symbolic factors. */
function factor(d: Dim): { n: number; syms: string[] } {
  if (typeof d === 'number') return { n: d, syms: [] };
  let n = 1;
  const syms: string[] = [];
  for (const part of d.split('*')) {
    if (/^\d+$/.test(part)) n *= Number(part);
    else syms.push(part);
  }
  return { n, syms };
}

function product(dims: Shape): { n: number; syms: string[] } {
  let n = 1;
  const syms: string[] = [];
  for (const d of dims) {
    const f = factor(d);
    n *= f.n;
    syms.push(...f.syms);
  }
  return { n, syms: syms.sort() };
}

function render(n: number, syms: string[]): Dim {
  if (syms.length === 0) return n;
  return n === 1 ? syms.join('*') : [...syms, String(n)].join('*');
}

/** Output shape of ONNX Reshape with a constant target (0 = copy input dim, -1 = inferred). */
export function inferReshape(input: Shape, target: number[], fail: (message: string) => never): Shape {
  if (target.filter((d) => d === -1).length > 1) fail(`target [${target}] has more than one -1`);
  const out: Dim[] = target.map((d, i) => {
    if (d === 0) {
      if (i >= input.length) fail(`target [${target}] copies dimension ${i} that [${input}] does not have`);
      return input[i];
    }
    if (d < -1) fail(`target [${target}] has invalid dimension ${d}`);
    return d;
  });
  const total = product(input);
  const known = product(out.filter((d) => d !== -1));
  const inferIdx = out.indexOf(-1);
  if (inferIdx < 0) {
    const sameSyms = total.syms.join('*') === known.syms.join('*');
    if (sameSyms && total.n !== known.n)
      fail(`cannot reshape [${input}] (${render(total.n, total.syms)} elements) to [${target}]`);
    return out;
  }
  const remaining = [...total.syms];
  for (const s of known.syms) {
    const at = remaining.indexOf(s);
    if (at < 0)
      return out.map((d) =>
        d === -1 ? `?${render(total.n, total.syms)}/${render(known.n, known.syms)}` : d,
      );
    remaining.splice(at, 1);
  }
  if (known.n === 0 || total.n % known.n !== 0) {
    fail(`cannot reshape [${input}] (${render(total.n, total.syms)} elements) to [${target}]`);
  }
  out[inferIdx] = render(total.n / known.n, remaining);
  return out;
}
