// Typed ONNX graph builder (IR 8, opset 18). A model is written once as TypeScript calls on a
// Graph; every call infers its output dtype and shape, so a mistake (mismatched matmul dims, a
// bad reshape) fails at build time with a ShapeError naming the layer scope and the op.
//
// Public API:
//   const g = new Graph({ float: 'float32', seed: 1, training: false });
//   const x = g.input('x', 'float32', ['batch', 16]);
//   g.scope('head', () => { const w = g.param('weight', [16, 2], { normal: 0.02 }); ... });
//   g.output(y, 'logits'); const bytes = g.toBytes();
// Ops are methods (add, matmul, softmax, reduceMean, ...); `g.op()` emits any other ONNX op
// given its output dtype and shape. Autodiff (../autodiff) appends gradient nodes to a Graph.

import { Rng } from '../../util/rng.js';
import { DataType, ModelProto, NodeProto, TensorProto, ValueInfoProto, encodeModel } from './proto.js';
import { Dim, Shape, ShapeError, broadcastShapes, inferReshape } from './shape.js';

export type { Dim, Shape } from './shape.js';
export { ShapeError } from './shape.js';

export type FloatType = 'float32' | 'float64';
export type DType = FloatType | 'int64' | 'int32' | 'bool' | 'uint8';
export type TypedData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export const IR_VERSION = 8;
export const OPSET = 18;

const ONNX_TYPE: Record<DType, number> = {
  float32: DataType.FLOAT,
  float64: DataType.DOUBLE,
  int64: DataType.INT64,
  int32: DataType.INT32,
  bool: DataType.BOOL,
  uint8: DataType.UINT8,
};

/** Attribute values: number -> INT, number[] -> INTS, string -> STRING, {f} -> FLOAT, {floats} -> FLOATS. */
export type Attr = number | number[] | string | { f: number } | { floats: number[] };

export interface GraphNode {
  name: string;
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
  /** Layer scope the node was created in, for error messages. */
  scope: string;
}

/** Parameter initialisation: explicit values, constant fill, or seeded random draws. */
export type Init = 'zeros' | 'ones' | { normal: number } | { uniform: number } | ArrayLike<number>;

export interface Initializer {
  name: string;
  dtype: DType;
  shape: number[];
  data: TypedData;
  /** Trainable parameters become inputs of the training-step graph. */
  trainable: boolean;
}

export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  /** Normalises a possibly negative axis against this tensor's rank. */
  axis(a: number): number {
    const r = a < 0 ? a + this.rank : a;
    if (r < 0 || r >= this.rank)
      throw new ShapeError(this.graph.scopePath(), `axis ${a} is out of range for [${this.shape}]`);
    return r;
  }
}

export interface GraphOptions {
  name?: string;
  /** dtype of parameters and scalar constants (gradient checks use float64). */
  float?: FloatType;
  /** Seed for parameter initialisation. */
  seed?: number;
  /** Training graphs get active dropout (fed with noise inputs). */
  training?: boolean;
}

/** A graph input the trainer fills with uniform [0,1) noise each step (dropout masks). */
export interface NoiseInput {
  name: string;
  shape: Shape;
}

export interface ModelOptions {
  /** Only these outputs (default: all declared); nodes not needed for them are pruned. */
  outputs?: string[];
  /** Emit trainable parameters as graph inputs instead of initializers (training-step graphs). */
  paramsAsInputs?: boolean;
  /** Replace initializer values by name (exporting trained weights). */
  values?: Map<string, TypedData>;
  producer?: string;
  metadata?: Record<string, string>;
}

export class Graph {
  readonly name: string;
  readonly float: FloatType;
  readonly training: boolean;
  readonly rng: Rng;
  readonly nodes: GraphNode[] = [];
  readonly inputs: Tensor[] = [];
  readonly outputs: { name: string; tensor: Tensor }[] = [];
  readonly initializers = new Map<string, Initializer>();
  readonly noise: NoiseInput[] = [];
  /** Tensors whose gradient is cut (stopGradient). */
  readonly gradientStops = new Set<string>();
  private readonly tensors = new Map<string, Tensor>();
  private readonly constCache = new Map<string, Tensor>();
  private readonly scopes: string[] = [];
  private counter = 0;
  private reusing = 0;

  constructor(opts: GraphOptions = {}) {
    this.name = opts.name ?? 'graph';
    this.float = opts.float ?? 'float32';
    this.training = opts.training ?? false;
    this.rng = new Rng(opts.seed ?? 0);
  }

  // ------------------------------------------------------------ structure

  /** Runs `fn` with `name` appended to the scope path (parameter and node names, error messages). */
  scope<T>(name: string, fn: () => T): T {
    this.scopes.push(name);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  /** The current scope path, e.g. 'layers.0.attn'. */
  scopePath(): string {
    return this.scopes.join('.') || '(top level)';
  }

  private qualify(name: string): string {
    return [...this.scopes, name].join('.');
  }

  tensor(name: string): Tensor {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`graph has no tensor named '${name}'`);
    return t;
  }

  private register(name: string, dtype: DType, shape: Shape): Tensor {
    if (this.tensors.has(name)) throw new ShapeError(this.scopePath(), `the name '${name}' is already used`);
    const t = new Tensor(this, name, dtype, shape);
    this.tensors.set(name, t);
    return t;
  }

  input(name: string, dtype: DType, shape: Shape): Tensor {
    const t = this.register(name, dtype, shape);
    this.inputs.push(t);
    return t;
  }

  /**
   * Runs `fn` so that parameters it declares under names that already exist are reused instead of
   * created (weight sharing, e.g. one layer applied to both modalities). Shapes must agree.
   */
  reuse<T>(fn: () => T): T {
    this.reusing++;
    try {
      return fn();
    } finally {
      this.reusing--;
    }
  }

  /** A named parameter (initializer) under the current scope, e.g. 'layers.0.attn.q.weight'. */
  param(name: string, shape: number[], init: Init, opts: { trainable?: boolean } = {}): Tensor {
    const full = this.qualify(name);
    const existing = this.reusing > 0 ? this.initializers.get(full) : undefined;
    if (existing) {
      if (existing.shape.join(',') !== shape.join(',')) {
        throw new ShapeError(
          this.scopePath(),
          `shared parameter '${full}' is [${existing.shape}], requested [${shape}]`,
        );
      }
      return this.tensor(full);
    }
    const data = this.initialData(full, shape, init);
    const t = this.register(full, this.float, shape);
    this.initializers.set(full, {
      name: full,
      dtype: this.float,
      shape,
      data,
      trainable: opts.trainable ?? true,
    });
    return t;
  }

  private initialData(name: string, shape: number[], init: Init): TypedData {
    const n = shape.reduce((a, b) => a * b, 1);
    const out = this.float === 'float64' ? new Float64Array(n) : new Float32Array(n);
    if (init === 'ones') out.fill(1);
    else if (init === 'zeros') out.fill(0);
    else if ('normal' in init) for (let i = 0; i < n; i++) out[i] = this.rng.normal(0, init.normal);
    else if ('uniform' in init)
      for (let i = 0; i < n; i++) out[i] = this.rng.uniform(-init.uniform, init.uniform);
    else {
      if (init.length !== n)
        throw new ShapeError(this.scopePath(), `parameter '${name}' needs ${n} values, got ${init.length}`);
      for (let i = 0; i < n; i++) out[i] = init[i];
    }
    return out;
  }

  /** A constant tensor (small ones, such as scalars and axes, are deduplicated by value). */
  constant(values: ArrayLike<number> | TypedData, shape: number[], dtype: DType = this.float): Tensor {
    const data = toTyped(values, dtype);
    const key =
      data.length <= 64
        ? `${dtype}|${shape.join(',')}|${Array.from(data as ArrayLike<number | bigint>).join(',')}`
        : undefined;
    const cached = key === undefined ? undefined : this.constCache.get(key);
    if (cached) return cached;
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length)
      throw new ShapeError(
        this.scopePath(),
        `constant of shape [${shape}] needs ${count} values, got ${data.length}`,
      );
    const name = `const_${this.counter++}`;
    const t = this.register(name, dtype, shape);
    this.initializers.set(name, { name, dtype, shape, data, trainable: false });
    if (key !== undefined) this.constCache.set(key, t);
    return t;
  }

  scalar(value: number, dtype: DType = this.float): Tensor {
    return this.constant([value], [], dtype);
  }

  ints(values: number[]): Tensor {
    return this.constant(values, [values.length], 'int64');
  }

  /** Known integer values of a constant tensor, or undefined when it is computed at run time. */
  constValues(t: Tensor | undefined): number[] | undefined {
    if (!t) return undefined;
    const init = this.initializers.get(t.name);
    if (!init || init.trainable) return undefined;
    return Array.from(init.data as ArrayLike<number | bigint>, Number);
  }

  /** Declares a graph output under `name` (adds an Identity when the tensor has another name). */
  output(t: Tensor, name: string): Tensor {
    if (this.outputs.some((o) => o.name === name))
      throw new ShapeError(this.scopePath(), `output '${name}' declared twice`);
    const out =
      t.name === name ? t : this.emit('Identity', [t], {}, [{ dtype: t.dtype, shape: t.shape }], [name])[0];
    this.outputs.push({ name, tensor: out });
    return out;
  }

  /** Uniform [0,1) noise of `shape`, a graph input the trainer fills each step (seeded in JS). */
  noiseInput(shape: Shape): Tensor {
    const t = this.input(this.qualify(`noise_${this.counter++}`), this.float, shape);
    this.noise.push({ name: t.name, shape });
    return t;
  }

  /**
   * Emits a node with explicitly given output types (for ops without built-in inference).
   * `outputNames` fixes the names; otherwise they are generated from the scope.
   */
  emit(
    op: string,
    inputs: (Tensor | undefined)[],
    attrs: Record<string, Attr>,
    outs: { dtype: DType; shape: Shape }[],
    outputNames?: string[],
  ): Tensor[] {
    for (const t of inputs) {
      if (t && t.graph !== this)
        throw new ShapeError(this.scopePath(), `${op}: input '${t.name}' belongs to another graph`);
    }
    const id = this.counter++;
    const nodeName = this.scopes.length ? `${this.scopes.join('.')}/${op}_${id}` : `${op}_${id}`;
    const outputs = outs.map((o, i) =>
      this.register(outputNames?.[i] ?? `${nodeName}:${i}`, o.dtype, o.shape),
    );
    this.nodes.push({
      name: nodeName,
      op,
      inputs: inputs.map((t) => t?.name ?? ''),
      outputs: outputs.map((t) => t.name),
      attrs,
      scope: this.scopePath(),
    });
    return outputs;
  }

  private fail(op: string, message: string): never {
    throw new ShapeError(this.scopePath(), `${op}: ${message}`);
  }

  private floatIn(op: string, ...ts: Tensor[]): void {
    for (const t of ts) {
      if (t.dtype !== 'float32' && t.dtype !== 'float64')
        this.fail(op, `expects a float tensor, got ${t.dtype} '${t.name}'`);
    }
  }

  private sameType(op: string, a: Tensor, b: Tensor): void {
    if (a.dtype !== b.dtype) this.fail(op, `dtypes differ: ${a.dtype} '${a.name}' vs ${b.dtype} '${b.name}'`);
  }

  // ------------------------------------------------------------ elementwise

  private unary(op: string, x: Tensor, attrs: Record<string, Attr> = {}): Tensor {
    this.floatIn(op, x);
    return this.emit(op, [x], attrs, [{ dtype: x.dtype, shape: x.shape }])[0];
  }

  private binary(op: string, a: Tensor | number, b: Tensor | number, outType?: DType): Tensor {
    const [ta, tb] = this.lift(a, b);
    this.sameType(op, ta, tb);
    const shape = broadcastShapes(ta.shape, tb.shape, (m) => this.fail(op, m));
    return this.emit(op, [ta, tb], {}, [{ dtype: outType ?? ta.dtype, shape }])[0];
  }

  /** Turns a JS number operand into a scalar constant of the other operand's dtype. */
  private lift(a: Tensor | number, b: Tensor | number): [Tensor, Tensor] {
    if (typeof a === 'number' && typeof b === 'number')
      throw new Error('at least one operand must be a tensor');
    const ta = typeof a === 'number' ? this.scalar(a, (b as Tensor).dtype) : a;
    const tb = typeof b === 'number' ? this.scalar(b, ta.dtype) : b;
    return [ta, tb];
  }

  add(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('Add', a, b);
  }
  sub(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('Sub', a, b);
  }
  mul(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('Mul', a, b);
  }
  div(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('Div', a, b);
  }
  /** x ** p (elementwise; p is usually a constant). */
  pow(x: Tensor, p: Tensor | number): Tensor {
    return this.binary('Pow', x, p);
  }
  equal(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('Equal', a, b, 'bool');
  }
  less(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('Less', a, b, 'bool');
  }
  greater(a: Tensor | number, b: Tensor | number): Tensor {
    return this.binary('Greater', a, b, 'bool');
  }
  and(a: Tensor, b: Tensor): Tensor {
    return this.binary('And', a, b, 'bool');
  }

  neg(x: Tensor): Tensor {
    return this.unary('Neg', x);
  }
  exp(x: Tensor): Tensor {
    return this.unary('Exp', x);
  }
  log(x: Tensor): Tensor {
    return this.unary('Log', x);
  }
  sqrt(x: Tensor): Tensor {
    return this.unary('Sqrt', x);
  }
  abs(x: Tensor): Tensor {
    return this.unary('Abs', x);
  }
  sign(x: Tensor): Tensor {
    return this.unary('Sign', x);
  }
  relu(x: Tensor): Tensor {
    return this.unary('Relu', x);
  }
  sigmoid(x: Tensor): Tensor {
    return this.unary('Sigmoid', x);
  }
  tanh(x: Tensor): Tensor {
    return this.unary('Tanh', x);
  }
  erf(x: Tensor): Tensor {
    return this.unary('Erf', x);
  }
  identity(x: Tensor): Tensor {
    return this.emit('Identity', [x], {}, [{ dtype: x.dtype, shape: x.shape }])[0];
  }
  softmax(x: Tensor, axis = -1): Tensor {
    return this.unary('Softmax', x, { axis: x.axis(axis) });
  }
  logSoftmax(x: Tensor, axis = -1): Tensor {
    return this.unary('LogSoftmax', x, { axis: x.axis(axis) });
  }

  /** Forward value unchanged; no gradient flows back through it. */
  stopGradient(x: Tensor): Tensor {
    const y = this.identity(x);
    this.gradientStops.add(y.name);
    return y;
  }

  /** Clamp to [lo, hi]. */
  clip(x: Tensor, lo: number, hi: number): Tensor {
    this.floatIn('Clip', x);
    const min = this.scalar(lo, x.dtype);
    const max = this.scalar(hi, x.dtype);
    return this.emit('Clip', [x, min, max], {}, [{ dtype: x.dtype, shape: x.shape }])[0];
  }

  where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
    const [ta, tb] = this.lift(a, b);
    this.sameType('Where', ta, tb);
    if (cond.dtype !== 'bool') this.fail('Where', `condition must be bool, got ${cond.dtype}`);
    const fail = (m: string) => this.fail('Where', m);
    const shape = broadcastShapes(broadcastShapes(ta.shape, tb.shape, fail), cond.shape, fail);
    return this.emit('Where', [cond, ta, tb], {}, [{ dtype: ta.dtype, shape }])[0];
  }

  cast(x: Tensor, to: DType): Tensor {
    return this.emit('Cast', [x], { to: ONNX_TYPE[to] }, [{ dtype: to, shape: x.shape }])[0];
  }

  // ------------------------------------------------------------ linear algebra

  /** Batched matrix product; both operands rank >= 2, batch dims broadcast. */
  matmul(a: Tensor, b: Tensor): Tensor {
    this.floatIn('MatMul', a, b);
    this.sameType('MatMul', a, b);
    if (a.rank < 2 || b.rank < 2)
      this.fail('MatMul', `operands need rank >= 2, got [${a.shape}] x [${b.shape}]`);
    const k1 = a.shape[a.rank - 1];
    const k2 = b.shape[b.rank - 2];
    if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) {
      this.fail('MatMul', `inner dimensions differ: [${a.shape}] x [${b.shape}]`);
    }
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), (m) => this.fail('MatMul', m));
    const shape = [...batch, a.shape[a.rank - 2], b.shape[b.rank - 1]];
    return this.emit('MatMul', [a, b], {}, [{ dtype: a.dtype, shape }])[0];
  }

  // ------------------------------------------------------------ shape manipulation

  transpose(x: Tensor, perm: number[]): Tensor {
    const sorted = [...perm].sort((p, q) => p - q);
    if (perm.length !== x.rank || sorted.some((p, i) => p !== i)) {
      this.fail('Transpose', `perm [${perm}] is not a permutation of rank ${x.rank} ([${x.shape}])`);
    }
    return this.emit('Transpose', [x], { perm }, [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }])[0];
  }

  /** Swaps the last two axes. */
  transposeLast(x: Tensor): Tensor {
    const perm = x.shape.map((_, i) => i);
    [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
    return this.transpose(x, perm);
  }

  /** ONNX Reshape: 0 copies the input dim, -1 is inferred. */
  reshape(x: Tensor, shape: number[]): Tensor {
    const out = inferReshape(x.shape, shape, (m) => this.fail('Reshape', m));
    return this.emit('Reshape', [x, this.ints(shape)], {}, [{ dtype: x.dtype, shape: out }])[0];
  }

  /** Reshape to another tensor's (run-time) shape. */
  reshapeLike(x: Tensor, like: Tensor): Tensor {
    return this.emit('Reshape', [x, this.shapeOf(like)], {}, [{ dtype: x.dtype, shape: like.shape }])[0];
  }

  /** Broadcast x to another tensor's (run-time) shape. */
  expandLike(x: Tensor, like: Tensor): Tensor {
    broadcastShapes(x.shape, like.shape, (m) => this.fail('Expand', m));
    return this.emit('Expand', [x, this.shapeOf(like)], {}, [{ dtype: x.dtype, shape: like.shape }])[0];
  }

  shapeOf(x: Tensor): Tensor {
    return this.emit('Shape', [x], {}, [{ dtype: 'int64', shape: [x.rank] }])[0];
  }

  sizeOf(x: Tensor): Tensor {
    return this.emit('Size', [x], {}, [{ dtype: 'int64', shape: [] }])[0];
  }

  concat(xs: Tensor[], axis: number): Tensor {
    if (xs.length === 0) this.fail('Concat', 'needs at least one input');
    const first = xs[0];
    const ax = first.axis(axis);
    for (const t of xs) {
      this.sameType('Concat', first, t);
      if (t.rank !== first.rank) this.fail('Concat', `ranks differ: [${first.shape}] and [${t.shape}]`);
      t.shape.forEach((d, i) => {
        if (i !== ax && typeof d === 'number' && typeof first.shape[i] === 'number' && d !== first.shape[i]) {
          this.fail(
            'Concat',
            `dimension ${i} differs: [${first.shape}] and [${t.shape}] (concat axis ${ax})`,
          );
        }
      });
    }
    const dims = xs.map((t) => t.shape[ax]);
    const joined: Dim = dims.every((d) => typeof d === 'number')
      ? (dims as number[]).reduce((a, b) => a + b, 0)
      : dims.join('+');
    const shape = first.shape.map((d, i) => (i === ax ? joined : d));
    return this.emit('Concat', xs, { axis: ax }, [{ dtype: first.dtype, shape }])[0];
  }

  /** Slice along `axes` with constant starts/ends (steps of 1). */
  slice(x: Tensor, starts: number[], ends: number[], axes: number[]): Tensor {
    const shape = [...x.shape];
    axes.forEach((a, i) => {
      const ax = x.axis(a);
      const d = x.shape[ax];
      if (typeof d === 'number') {
        const clamp = (v: number) => Math.max(0, Math.min(d, v < 0 ? v + d : v));
        const len = clamp(ends[i]) - clamp(starts[i]);
        if (len <= 0)
          this.fail('Slice', `empty slice [${starts[i]}, ${ends[i]}) of axis ${ax} with size ${d}`);
        shape[ax] = len;
      } else if (starts[i] >= 0 && ends[i] >= starts[i] && ends[i] < 2 ** 31) {
        shape[ax] = ends[i] - starts[i];
      } else {
        shape[ax] = `${d}[${starts[i]}:${ends[i]}]`;
      }
    });
    const normAxes = axes.map((a) => x.axis(a));
    return this.emit('Slice', [x, this.ints(starts), this.ints(ends), this.ints(normAxes)], {}, [
      { dtype: x.dtype, shape },
    ])[0];
  }

  /** Gather rows (axis 0 by default) with int64 indices: embedding lookups. */
  gather(data: Tensor, indices: Tensor, axis = 0): Tensor {
    if (indices.dtype !== 'int64' && indices.dtype !== 'int32')
      this.fail('Gather', `indices must be int64, got ${indices.dtype}`);
    const ax = data.axis(axis);
    const shape = [...data.shape.slice(0, ax), ...indices.shape, ...data.shape.slice(ax + 1)];
    return this.emit('Gather', [data, indices], { axis: ax }, [{ dtype: data.dtype, shape }])[0];
  }

  unsqueeze(x: Tensor, axes: number[]): Tensor {
    const rank = x.rank + axes.length;
    const norm = axes.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
    if (norm.some((a) => a < 0 || a >= rank))
      this.fail('Unsqueeze', `axes [${axes}] out of range for [${x.shape}]`);
    const shape: Dim[] = [];
    let src = 0;
    for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : x.shape[src++]);
    return this.emit('Unsqueeze', [x, this.ints(norm)], {}, [{ dtype: x.dtype, shape }])[0];
  }

  squeeze(x: Tensor, axes: number[]): Tensor {
    const norm = axes.map((a) => x.axis(a));
    for (const a of norm) {
      if (typeof x.shape[a] === 'number' && x.shape[a] !== 1)
        this.fail('Squeeze', `axis ${a} of [${x.shape}] is not 1`);
    }
    const shape = x.shape.filter((_, i) => !norm.includes(i));
    return this.emit('Squeeze', [x, this.ints(norm)], {}, [{ dtype: x.dtype, shape }])[0];
  }

  /** Constant zero padding: `pads` = [begin_0..begin_n, end_0..end_n] as in ONNX Pad. */
  pad(x: Tensor, pads: number[]): Tensor {
    if (pads.length !== 2 * x.rank)
      this.fail('Pad', `needs ${2 * x.rank} pad values for [${x.shape}], got ${pads.length}`);
    const shape = x.shape.map((d, i) =>
      typeof d === 'number'
        ? d + pads[i] + pads[i + x.rank]
        : pads[i] + pads[i + x.rank] === 0
          ? d
          : `${d}+${pads[i] + pads[i + x.rank]}`,
    );
    return this.emit('Pad', [x, this.ints(pads)], { mode: 'constant' }, [{ dtype: x.dtype, shape }])[0];
  }

  // ------------------------------------------------------------ reductions

  private reduce(op: string, x: Tensor, axes: number[], keepdims: boolean): Tensor {
    const norm = [...new Set(axes.map((a) => x.axis(a)))].sort((a, b) => a - b);
    const shape = keepdims
      ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d))
      : x.shape.filter((_, i) => !norm.includes(i));
    return this.emit(op, [x, this.ints(norm)], { keepdims: keepdims ? 1 : 0 }, [
      { dtype: x.dtype, shape },
    ])[0];
  }

  reduceSum(x: Tensor, axes: number[], keepdims = false): Tensor {
    return this.reduce('ReduceSum', x, axes, keepdims);
  }
  reduceMean(x: Tensor, axes: number[], keepdims = false): Tensor {
    return this.reduce('ReduceMean', x, axes, keepdims);
  }
  reduceMax(x: Tensor, axes: number[], keepdims = false): Tensor {
    return this.reduce('ReduceMax', x, axes, keepdims);
  }
  reduceMin(x: Tensor, axes: number[], keepdims = false): Tensor {
    return this.reduce('ReduceMin', x, axes, keepdims);
  }
  /** Sum over all axes to a scalar. */
  sumAll(x: Tensor): Tensor {
    return x.rank === 0
      ? x
      : this.reduceSum(
          x,
          x.shape.map((_, i) => i),
        );
  }
  meanAll(x: Tensor): Tensor {
    return x.rank === 0
      ? x
      : this.reduceMean(
          x,
          x.shape.map((_, i) => i),
        );
  }

  // ------------------------------------------------------------ signal processing (opset 17+)

  /** Periodic Hann window of `size` samples. */
  hannWindow(size: number): Tensor {
    return this.emit(
      'HannWindow',
      [this.constant([size], [], 'int64')],
      { output_datatype: ONNX_TYPE[this.float] },
      [{ dtype: this.float, shape: [size] }],
    )[0];
  }

  /** One-sided STFT of signal [B, L, 1] -> [B, frames, frameLength/2+1, 2] (no centre padding). */
  stft(signal: Tensor, frameStep: number, window: Tensor, frameLength: number): Tensor {
    this.floatIn('STFT', signal);
    if (signal.rank !== 3) this.fail('STFT', `signal must be [batch, samples, 1], got [${signal.shape}]`);
    const len = signal.shape[1];
    const frames =
      typeof len === 'number' ? Math.floor((len - frameLength) / frameStep) + 1 : `frames(${len})`;
    if (typeof frames === 'number' && frames < 1)
      this.fail('STFT', `signal of ${len} samples is shorter than one frame (${frameLength})`);
    return this.emit(
      'STFT',
      [signal, this.constant([frameStep], [], 'int64'), window, this.constant([frameLength], [], 'int64')],
      { onesided: 1 },
      [{ dtype: signal.dtype, shape: [signal.shape[0], frames, Math.floor(frameLength / 2) + 1, 2] }],
    )[0];
  }

  /** HTK-style triangular mel filters [dftLength/2+1, bins] (ONNX MelWeightMatrix). */
  melWeightMatrix(
    bins: number,
    dftLength: number,
    sampleRate: number,
    lowHz: number,
    highHz: number,
  ): Tensor {
    const ints = (v: number) => this.constant([v], [], 'int64');
    const floats = (v: number) => this.constant([v], [], 'float32');
    return this.emit(
      'MelWeightMatrix',
      [ints(bins), ints(dftLength), ints(sampleRate), floats(lowHz), floats(highHz)],
      { output_datatype: ONNX_TYPE[this.float] },
      [{ dtype: this.float, shape: [Math.floor(dftLength / 2) + 1, bins] }],
    )[0];
  }

  // ------------------------------------------------------------ emission

  /** Builds the ModelProto; nodes, inputs and initializers not needed for the outputs are dropped. */
  toModel(opts: ModelOptions = {}): ModelProto {
    const wanted = opts.outputs ?? this.outputs.map((o) => o.name);
    const outputs = wanted.map((name) => {
      const o = this.outputs.find((x) => x.name === name);
      if (!o)
        throw new Error(
          `graph '${this.name}' has no output '${name}' (outputs: ${this.outputs.map((x) => x.name).join(', ')})`,
        );
      return o.tensor;
    });
    const needed = new Set(outputs.map((t) => t.name));
    const kept: GraphNode[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      if (!n.outputs.some((o) => needed.has(o))) continue;
      kept.push(n);
      for (const inp of n.inputs) if (inp) needed.add(inp);
    }
    kept.reverse();
    const asInput = (init: Initializer) => opts.paramsAsInputs === true && init.trainable;
    const inits = [...this.initializers.values()].filter((i) => needed.has(i.name));
    for (const name of opts.values?.keys() ?? []) {
      if (!this.initializers.has(name))
        throw new Error(`no parameter named '${name}' in graph '${this.name}'`);
    }
    const inputs = [
      ...this.inputs.filter((t) => needed.has(t.name)).map((t) => valueInfo(t)),
      ...inits.filter(asInput).map((i) => valueInfo(this.tensor(i.name))),
    ];
    return {
      irVersion: IR_VERSION,
      opsetImports: [{ domain: '', version: OPSET }],
      producerName: opts.producer ?? 'avvp-stream',
      metadata: opts.metadata ?? {},
      graph: {
        name: this.name,
        nodes: kept.map(nodeProto),
        initializers: inits
          .filter((i) => !asInput(i))
          .map((i) => tensorProto(i.name, i.dtype, i.shape, opts.values?.get(i.name) ?? i.data)),
        inputs,
        outputs: outputs.map((t, i) => ({ ...valueInfo(t), name: wanted[i] })),
        valueInfo: [],
      },
    };
  }

  toBytes(opts: ModelOptions = {}): Uint8Array {
    return encodeModel(this.toModel(opts));
  }

  /** Number of elements of each trainable parameter, summed. */
  parameterCount(): number {
    let n = 0;
    for (const i of this.initializers.values()) if (i.trainable) n += i.data.length;
    return n;
  }
}

function valueInfo(t: Tensor): ValueInfoProto {
  return { name: t.name, elemType: ONNX_TYPE[t.dtype], shape: t.shape.map((d) => d) };
}

function nodeProto(n: GraphNode): NodeProto {
  return {
    name: n.name,
    opType: n.op,
    domain: '',
    inputs: n.inputs,
    outputs: n.outputs,
    attributes: Object.entries(n.attrs).map(([name, v]) => {
      if (typeof v === 'number') return { name, type: 2, i: BigInt(v) };
      if (typeof v === 'string') return { name, type: 3, s: new TextEncoder().encode(v) };
      if (Array.isArray(v)) return { name, type: 7, ints: v.map((x) => BigInt(x)) };
      if ('f' in v) return { name, type: 1, f: v.f };
      return { name, type: 6, floats: v.floats };
    }),
  };
}

/** An initializer as a TensorProto with little-endian raw_data. */
export function tensorProto(name: string, dtype: DType, shape: number[], data: TypedData): TensorProto {
  const typed = toTyped(data, dtype);
  return {
    name,
    dims: shape,
    dataType: ONNX_TYPE[dtype],
    raw: new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength).slice(),
  };
}

/** Converts numbers to the typed array of `dtype`. */
export function toTyped(values: ArrayLike<number> | TypedData, dtype: DType): TypedData {
  const nums = values as ArrayLike<number | bigint>;
  switch (dtype) {
    case 'float32':
      return values instanceof Float32Array ? values : Float32Array.from(nums, Number);
    case 'float64':
      return values instanceof Float64Array ? values : Float64Array.from(nums, Number);
    case 'int64':
      return values instanceof BigInt64Array ? values : BigInt64Array.from(nums, (v) => BigInt(v));
    case 'int32':
      return values instanceof Int32Array ? values : Int32Array.from(nums, Number);
    case 'bool':
    case 'uint8':
      return values instanceof Uint8Array ? values : Uint8Array.from(nums, Number);
  }
}
