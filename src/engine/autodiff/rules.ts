// Gradient rules, one per ONNX op: given the gradient of the node's output(s), emit the
// gradients of its inputs with the same builder. To add an op: add a rule here and a
// finite-difference case in tests/engine/autodiff.test.ts (docs/engine.md).

import { Graph, GraphNode, Tensor } from '../onnx/builder.js';

export interface RuleContext {
  g: Graph;
  node: GraphNode;
  inputs: (Tensor | undefined)[];
  outputs: Tensor[];
  /** Gradient of each output (undefined where the loss does not depend on it). */
  dys: (Tensor | undefined)[];
  /** Which inputs need a gradient. */
  needs: boolean[];
}

export type Rule = (c: RuleContext) => (Tensor | undefined)[];

function isStatic(t: Tensor): boolean {
  return t.shape.every((d) => typeof d === 'number');
}

/** Reshape to `like`'s shape, statically when it is fully known. */
function reshapeTo(g: Graph, x: Tensor, like: Tensor): Tensor {
  if (x.shape.length === like.shape.length && x.shape.every((d, i) => d === like.shape[i])) return x;
  return isStatic(like) ? g.reshape(x, like.shape as number[]) : g.reshapeLike(x, like);
}

/** Transpose, skipped when `perm` is the identity. */
function permute(g: Graph, x: Tensor, perm: number[]): Tensor {
  return perm.every((p, i) => p === i) ? x : g.transpose(x, perm);
}

/** Sums a broadcast gradient back to the shape of `target` (undoes numpy broadcasting). */
export function reduceTo(g: Graph, grad: Tensor, target: Tensor): Tensor {
  const lead = grad.rank - target.rank;
  const axes: number[] = [];
  for (let i = 0; i < grad.rank; i++) {
    if (i < lead) axes.push(i);
    else if (target.shape[i - lead] === 1 && grad.shape[i] !== 1) axes.push(i);
  }
  if (axes.length === 0) return grad;
  const summed = g.reduceSum(grad, axes, true);
  return reshapeTo(g, summed, target);
}

function staticAxis(c: RuleContext, t: Tensor, axis: number): number {
  const d = t.shape[axis];
  if (typeof d !== 'number') {
    throw new Error(
      `${c.node.scope}: gradient of ${c.node.op} needs a fixed size on axis ${axis} of [${t.shape}]`,
    );
  }
  return d;
}

function attrInt(c: RuleContext, name: string): number {
  return c.node.attrs[name] as number;
}

/** Integer values of the node's constant input `i` (axes, starts, pads ...). */
function constInput(c: RuleContext, i: number): number[] {
  const v = c.g.constValues(c.inputs[i]);
  if (!v) throw new Error(`${c.node.scope}: gradient of ${c.node.op} needs constant input ${i}`);
  return v;
}

/** The reduced gradient broadcast back to x's shape. */
function unreduce(c: RuleContext, dy: Tensor, x: Tensor): Tensor {
  const keep = attrInt(c, 'keepdims') !== 0;
  const axes = constInput(c, 1);
  return c.g.expandLike(keep ? dy : c.g.unsqueeze(dy, axes), x);
}

/** ReduceMax/ReduceMin: the gradient goes to the extreme elements; ties share it equally. */
function extremumGradient(c: RuleContext): Tensor {
  const {
    g,
    inputs: [x],
    outputs: [y],
  } = c;
  const keep = attrInt(c, 'keepdims') !== 0;
  const axes = constInput(c, 1);
  const yk = keep ? y : g.unsqueeze(y, axes);
  const hits = g.cast(g.equal(x!, yk), x!.dtype);
  const share = g.div(hits, g.reduceSum(hits, axes, true));
  return g.mul(share, unreduce(c, c.dys[0]!, x!));
}

export const RULES: Record<string, Rule> = {
  Identity: ({ dys }) => [dys[0]],
  Add: ({ g, inputs: [a, b], dys: [dy] }) => [reduceTo(g, dy!, a!), reduceTo(g, dy!, b!)],
  Sub: ({ g, inputs: [a, b], dys: [dy], needs }) => [
    reduceTo(g, dy!, a!),
    needs[1] ? reduceTo(g, g.neg(dy!), b!) : undefined,
  ],
  Mul: ({ g, inputs: [a, b], dys: [dy], needs }) => [
    needs[0] ? reduceTo(g, g.mul(dy!, b!), a!) : undefined,
    needs[1] ? reduceTo(g, g.mul(dy!, a!), b!) : undefined,
  ],
  Div: ({ g, inputs: [a, b], outputs: [y], dys: [dy], needs }) => [
    needs[0] ? reduceTo(g, g.div(dy!, b!), a!) : undefined,
    needs[1] ? reduceTo(g, g.neg(g.div(g.mul(dy!, y), b!)), b!) : undefined,
  ],
  Pow: ({ g, inputs: [a, b], outputs: [y], dys: [dy], needs }) => [
    needs[0] ? reduceTo(g, g.mul(dy!, g.mul(b!, g.pow(a!, g.sub(b!, 1)))), a!) : undefined,
    needs[1] ? reduceTo(g, g.mul(dy!, g.mul(y, g.log(a!))), b!) : undefined,
  ],
  Neg: ({ g, dys: [dy] }) => [g.neg(dy!)],
  Exp: ({ g, outputs: [y], dys: [dy] }) => [g.mul(dy!, y)],
  Log: ({ g, inputs: [x], dys: [dy] }) => [g.div(dy!, x!)],
  Sqrt: ({ g, outputs: [y], dys: [dy] }) => [g.div(g.mul(dy!, 0.5), y)],
  Abs: ({ g, inputs: [x], dys: [dy] }) => [g.mul(dy!, g.sign(x!))],
  Relu: ({ g, inputs: [x], dys: [dy] }) => [g.where(g.greater(x!, 0), dy!, 0)],
  Sigmoid: ({ g, outputs: [y], dys: [dy] }) => [g.mul(dy!, g.mul(y, g.sub(1, y)))],
  Tanh: ({ g, outputs: [y], dys: [dy] }) => [g.mul(dy!, g.sub(1, g.mul(y, y)))],
  Erf: ({ g, inputs: [x], dys: [dy] }) => [
    g.mul(dy!, g.mul(g.exp(g.neg(g.mul(x!, x!))), 2 / Math.sqrt(Math.PI))),
  ],
  Softmax: (c) => {
    const {
      g,
      outputs: [y],
      dys: [dy],
    } = c;
    const axis = attrInt(c, 'axis');
    return [g.mul(y, g.sub(dy!, g.reduceSum(g.mul(dy!, y), [axis], true)))];
  },
  LogSoftmax: (c) => {
    const {
      g,
      outputs: [y],
      dys: [dy],
    } = c;
    const axis = attrInt(c, 'axis');
    return [g.sub(dy!, g.mul(g.exp(y), g.reduceSum(dy!, [axis], true)))];
  },
  Clip: ({ g, inputs: [x, lo, hi], dys: [dy] }) => {
    let grad = dy!;
    if (lo) grad = g.where(g.less(x!, lo), 0, grad);
    if (hi) grad = g.where(g.greater(x!, hi), 0, grad);
    return [grad];
  },
  Where: ({ g, inputs: [cond, a, b], dys: [dy], needs }) => [
    undefined,
    needs[1] ? reduceTo(g, g.where(cond!, dy!, 0), a!) : undefined,
    needs[2] ? reduceTo(g, g.where(cond!, 0, dy!), b!) : undefined,
  ],
  Cast: ({ g, inputs: [x], dys: [dy] }) => [
    x!.dtype === 'float32' || x!.dtype === 'float64' ? g.cast(dy!, x!.dtype) : undefined,
  ],
  MatMul: ({ g, inputs: [a, b], dys: [dy], needs }) => {
    let db: Tensor | undefined;
    if (needs[1]) {
      if (b!.rank === 2 && a!.rank > 2) {
        // Fold the batch dims into rows: one [K, rows] x [rows, N] product instead of a batched one.
        const k = a!.shape[a!.rank - 1] as number;
        const n = dy!.shape[dy!.rank - 1] as number;
        db = g.matmul(g.transposeLast(g.reshape(a!, [-1, k])), g.reshape(dy!, [-1, n]));
      } else db = reduceTo(g, g.matmul(g.transposeLast(a!), dy!), b!);
    }
    return [needs[0] ? reduceTo(g, g.matmul(dy!, g.transposeLast(b!)), a!) : undefined, db];
  },
  Transpose: (c) => {
    const perm = c.node.attrs.perm as number[];
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [c.g.transpose(c.dys[0]!, inverse)];
  },
  Reshape: ({ g, inputs: [x], dys: [dy] }) => [reshapeTo(g, dy!, x!)],
  Unsqueeze: ({ g, inputs: [x], dys: [dy] }) => [reshapeTo(g, dy!, x!)],
  Squeeze: ({ g, inputs: [x], dys: [dy] }) => [reshapeTo(g, dy!, x!)],
  Expand: ({ g, inputs: [x], dys: [dy] }) => [reduceTo(g, dy!, x!)],
  Concat: (c) => {
    const axis = attrInt(c, 'axis');
    let start = 0;
    return c.inputs.map((x, i) => {
      const size = staticAxis(c, x!, axis);
      const part = c.needs[i] ? c.g.slice(c.dys[0]!, [start], [start + size], [axis]) : undefined;
      start += size;
      return part;
    });
  },
  Slice: (c) => {
    const x = c.inputs[0]!;
    const starts = constInput(c, 1);
    const ends = constInput(c, 2);
    const axes = constInput(c, 3);
    const pads = new Array<number>(2 * x.rank).fill(0);
    axes.forEach((axis, i) => {
      const d = staticAxis(c, x, axis);
      const clamp = (v: number) => Math.max(0, Math.min(d, v < 0 ? v + d : v));
      pads[axis] = clamp(starts[i]);
      pads[axis + x.rank] = d - clamp(ends[i]);
    });
    return [c.g.pad(c.dys[0]!, pads)];
  },
  Pad: (c) => {
    const x = c.inputs[0]!;
    const pads = constInput(c, 1);
    const axes = x.shape.map((_, i) => i);
    const starts = axes.map((i) => pads[i]);
    const ends = axes.map((i) => pads[i] + staticAxis(c, x, i));
    return [c.g.slice(c.dys[0]!, starts, ends, axes)];
  },
  Gather: (c) => {
    // d data[v] = sum over positions p with ids[p] == v of dy[p]: a one-hot product. The gathered
    // axis is moved to the front first (and dy's index dims likewise), then moved back.
    const {
      g,
      inputs: [data, ids],
      dys: [dy],
    } = c;
    const axis = attrInt(c, 'axis');
    const vocab = staticAxis(c, data!, axis);
    const r = ids!.rank;
    const front = (rank: number, start: number, count: number) => {
      const moved = Array.from({ length: count }, (_, k) => start + k);
      return [...moved, ...Array.from({ length: rank }, (_, k) => k).filter((k) => !moved.includes(k))];
    };
    const rest = front(data!.rank, axis, 1).slice(1);
    const restDims = rest.map((k) => data!.shape[k]);
    const dyFront = permute(g, dy!, front(dy!.rank, axis, r));
    const width = restDims.every((d) => typeof d === 'number')
      ? (restDims as number[]).reduce((a, b) => a * b, 1)
      : -1;
    const range = g.constant(
      Array.from({ length: vocab }, (_, i) => i),
      [vocab],
      ids!.dtype,
    );
    const oneHot = g.cast(g.equal(g.unsqueeze(ids!, [-1]), range), dy!.dtype);
    const rows = g.reshape(dyFront, r === 0 ? [1, width] : [-1, width]);
    const grad = g.matmul(g.transposeLast(g.reshape(oneHot, [-1, vocab])), rows);
    const toFront = front(data!.rank, axis, 1);
    const dataFront = permute(g, data!, toFront);
    return [
      permute(
        g,
        reshapeTo(g, grad, dataFront),
        toFront.map((_, k) => toFront.indexOf(k)),
      ),
      undefined,
    ];
  },
  ReduceSum: (c) => [unreduce(c, c.dys[0]!, c.inputs[0]!)],
  ReduceMean: (c) => {
    const {
      g,
      inputs: [x],
      outputs: [y],
      dys: [dy],
    } = c;
    const spread = unreduce(c, dy!, x!);
    const count =
      isStatic(x!) && isStatic(y)
        ? (x!.shape as number[]).reduce((a, b) => a * b, 1) / (y.shape as number[]).reduce((a, b) => a * b, 1)
        : undefined;
    if (count !== undefined) return [g.mul(spread, 1 / count)];
    return [g.mul(spread, g.div(g.cast(g.sizeOf(y), dy!.dtype), g.cast(g.sizeOf(x!), dy!.dtype)))];
  },
  ReduceMax: (c) => [extremumGradient(c)],
  ReduceMin: (c) => [extremumGradient(c)],
};
