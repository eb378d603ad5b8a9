// Joins a preprocessing prefix graph in front of a model (typically a third-party CLIP/CLAP
// export read with decodeModel) into one ModelProto, and optionally L2-normalises an output.
//
//   const model = decodeModel(await readFile('models/clip-vit-b32-vision.onnx'));
//   const joined = composePrefix(clipPixelPrefix().toModel(), model);   // frames uint8 -> image_embeds
//   l2NormalizeOutput(joined, 'image_embeds');
//   await writeFile('models/clip-frames.onnx', encodeModel(joined));
//
// The prefix's outputs are wired to the model's inputs of the same name. The prefix's internal
// names get a unique prefix so they cannot collide with the model's. The joined model keeps the
// model's opset (the prefix graphs use only ops stable from opset 13 on, see prefix.ts), so the
// model's own nodes keep their meaning; models below opset 13 are refused.
import type { GraphProto, ModelProto, NodeProto, ValueInfoProto } from '../../engine/onnx/proto.js';
import { AttrType, DataType } from '../../engine/onnx/proto.js';

export class ComposeError extends Error {}

const MIN_OPSET = 13;
const NS = 'avvp_prefix/';

function defaultOpset(m: ModelProto): number {
  return m.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0;
}

/**
 * Returns a new ModelProto: prefix inputs (plus any model inputs the prefix does not produce)
 * -> prefix -> model -> model outputs.
 */
export function composePrefix(prefix: ModelProto, model: ModelProto): ModelProto {
  const opset = defaultOpset(model);
  if (opset < MIN_OPSET)
    throw new ComposeError(
      `the model uses opset ${opset}; preprocessing prefixes need opset ${MIN_OPSET} or later`,
    );
  const linked = new Map<string, ValueInfoProto>();
  for (const out of prefix.graph.outputs) {
    const target = model.graph.inputs.find((i) => i.name === out.name);
    if (!target)
      throw new ComposeError(
        `the prefix produces '${out.name}' but the model has no such input (it has ${model.graph.inputs.map((i) => `'${i.name}'`).join(', ')})`,
      );
    checkLink(out, target);
    linked.set(out.name, target);
  }
  const modelNames = namesOf(model.graph);
  for (const input of prefix.graph.inputs) {
    if (modelNames.has(input.name))
      throw new ComposeError(
        `the prefix input '${input.name}' is also a name inside the model; rename the prefix input`,
      );
  }
  const keep = new Set([...prefix.graph.inputs.map((i) => i.name), ...linked.keys()]);
  const rename = (name: string) => (name === '' || keep.has(name) ? name : NS + name);
  const prefixNodes: NodeProto[] = prefix.graph.nodes.map((n) => ({
    ...n,
    name: NS + n.name,
    inputs: n.inputs.map(rename),
    outputs: n.outputs.map(rename),
  }));
  const graph: GraphProto = {
    ...model.graph,
    nodes: [...prefixNodes, ...model.graph.nodes],
    initializers: [
      ...prefix.graph.initializers.map((t) => ({ ...t, name: rename(t.name) })),
      ...model.graph.initializers,
    ],
    inputs: [...prefix.graph.inputs, ...model.graph.inputs.filter((i) => !linked.has(i.name))],
    valueInfo: [...model.graph.valueInfo],
  };
  return { ...model, irVersion: Math.max(model.irVersion, prefix.irVersion), graph };
}

/** Replaces `output` by its L2-normalised version (over the last axis), keeping its name. */
export function l2NormalizeOutput(model: ModelProto, output: string, epsilon = 1e-12): void {
  const edit = appendAfter(model, output, 'l2');
  edit.initializer('axes', DataType.INT64, [1], int64Bytes([-1]));
  edit.initializer('eps', DataType.FLOAT, [], new Uint8Array(Float32Array.of(epsilon).buffer));
  edit.node('Mul', [edit.raw, edit.raw], 'sq');
  edit.node('ReduceSum', [edit.name('sq'), edit.name('axes')], 'sumsq', [keepdims(1)]);
  edit.node('Sqrt', [edit.name('sumsq')], 'norm');
  edit.node('Max', [edit.name('norm'), edit.name('eps')], 'safe');
  edit.node('Div', [edit.raw, edit.name('safe')], output);
  edit.setShape(declaredShape(model, output));
}

/**
 * `output` [B*F, D] (F frames of each of B segments, stacked by the pixel prefix) becomes the
 * mean over each segment's frames, [B, D], under the same name.
 */
export function poolFrames(model: ModelProto, output: string, frames: number): void {
  const shape = declaredShape(model, output);
  const dim = shape?.[shape.length - 1];
  if (shape?.length !== 2 || typeof dim !== 'number')
    throw new ComposeError(
      `output '${output}' must be [batch, D] with a fixed D to pool frames, got [${shape}]`,
    );
  const edit = appendAfter(model, output, 'pool');
  edit.initializer('shape', DataType.INT64, [3], int64Bytes([-1, frames, dim]));
  edit.initializer('axes', DataType.INT64, [1], int64Bytes([1]));
  edit.initializer('scale', DataType.FLOAT, [], new Uint8Array(Float32Array.of(1 / frames).buffer));
  edit.node('Reshape', [edit.raw, edit.name('shape')], 'segments');
  edit.node('ReduceSum', [edit.name('segments'), edit.name('axes')], 'sum', [keepdims(0)]);
  edit.node('Mul', [edit.name('sum'), edit.name('scale')], output);
  edit.setShape(['batch', dim]);
}

/**
 * `output` [B*F, 1 + h*w, D] (a ViT's tokens: class token first, then an h x w grid of patch
 * tokens, h = w) becomes the frame mean of the patch grid, [B, h, w, D], under the same name.
 */
export function poolPatchTokens(model: ModelProto, output: string, frames: number): void {
  const shape = declaredShape(model, output);
  const [tokens, dim] = [shape?.[1], shape?.[2]];
  const side = typeof tokens === 'number' ? Math.round(Math.sqrt(tokens - 1)) : NaN;
  if (
    shape?.length !== 3 ||
    typeof dim !== 'number' ||
    typeof tokens !== 'number' ||
    side * side !== tokens - 1
  )
    throw new ComposeError(
      `output '${output}' must be [batch, 1 + h*h, D] (class token + square patch grid), got [${shape}]`,
    );
  const edit = appendAfter(model, output, 'patches');
  edit.initializer('starts', DataType.INT64, [1], int64Bytes([1]));
  edit.initializer('ends', DataType.INT64, [1], int64Bytes([tokens]));
  edit.initializer('axes', DataType.INT64, [1], int64Bytes([1]));
  edit.initializer('shape', DataType.INT64, [5], int64Bytes([-1, frames, side, side, dim]));
  edit.initializer('scale', DataType.FLOAT, [], new Uint8Array(Float32Array.of(1 / frames).buffer));
  edit.node('Slice', [edit.raw, edit.name('starts'), edit.name('ends'), edit.name('axes')], 'grid');
  edit.node('Reshape', [edit.name('grid'), edit.name('shape')], 'segments');
  edit.node('ReduceSum', [edit.name('segments'), edit.name('axes')], 'sum', [keepdims(0)]);
  edit.node('Mul', [edit.name('sum'), edit.name('scale')], output);
  edit.setShape(['batch', side, side, dim]);
}

/** Renames a graph output (and every use of it inside the graph). */
export function renameOutput(model: ModelProto, from: string, to: string): void {
  const g = model.graph;
  const declared = g.outputs.find((o) => o.name === from);
  if (!declared) throw new ComposeError(`the model has no output '${from}'`);
  if (namesOf(g).has(to))
    throw new ComposeError(`cannot rename output '${from}' to '${to}': the name is taken`);
  for (const node of g.nodes) {
    node.outputs = node.outputs.map((n) => (n === from ? to : n));
    node.inputs = node.inputs.map((n) => (n === from ? to : n));
  }
  declared.name = to;
}

function declaredShape(model: ModelProto, output: string): ValueInfoProto['shape'] {
  return model.graph.outputs.find((o) => o.name === output)?.shape;
}

function keepdims(value: number): NodeProto['attributes'][number] {
  return { name: 'keepdims', type: AttrType.INT, i: BigInt(value) };
}

/**
 * Re-routes the producer of float32 `output` to a private name (`raw`) so that nodes appended
 * with `node()` can compute a new value under the output's name.
 */
function appendAfter(model: ModelProto, output: string, tag: string) {
  const g = model.graph;
  const declared = g.outputs.find((o) => o.name === output);
  if (!declared) throw new ComposeError(`the model has no output '${output}'`);
  if (declared.elemType !== DataType.FLOAT) throw new ComposeError(`output '${output}' is not float32`);
  const base = `avvp_${tag}/${output}`;
  const raw = `${base}_raw`;
  for (const node of g.nodes) {
    node.outputs = node.outputs.map((n) => (n === output ? raw : n));
    node.inputs = node.inputs.map((n) => (n === output ? raw : n));
  }
  const name = (s: string) => `${base}_${s}`;
  return {
    raw,
    name,
    initializer(key: string, dataType: number, dims: number[], bytes: Uint8Array) {
      g.initializers.push({ name: name(key), dims, dataType, raw: bytes });
    },
    /** Appends a node; `out` is the final output's name or a key for a private name. */
    node(op: string, inputs: string[], out: string, attributes: NodeProto['attributes'] = []) {
      const target = out === output ? output : name(out);
      g.nodes.push({ name: `${base}/${out}`, opType: op, domain: '', inputs, outputs: [target], attributes });
    },
    setShape(shape: ValueInfoProto['shape']) {
      declared.shape = shape;
    },
  };
}

function checkLink(out: ValueInfoProto, input: ValueInfoProto): void {
  if (out.elemType !== undefined && input.elemType !== undefined && out.elemType !== input.elemType)
    throw new ComposeError(
      `the prefix output '${out.name}' has element type ${out.elemType}, the model input ${input.elemType}`,
    );
  if (out.shape === undefined || input.shape === undefined) return;
  if (out.shape.length !== input.shape.length)
    throw new ComposeError(
      `the prefix output '${out.name}' has rank ${out.shape.length}, the model input ${input.shape.length}`,
    );
  out.shape.forEach((d, axis) => {
    const want = input.shape![axis];
    if (typeof d === 'number' && typeof want === 'number' && d !== want)
      throw new ComposeError(
        `the prefix output '${out.name}' has ${d} at axis ${axis}, the model input ${want}`,
      );
  });
}

/** Every tensor name used inside a graph. */
function namesOf(g: GraphProto): Set<string> {
  const names = new Set<string>();
  for (const n of g.nodes) for (const x of [...n.inputs, ...n.outputs]) names.add(x);
  for (const t of g.initializers) names.add(t.name);
  for (const v of [...g.inputs, ...g.outputs]) names.add(v.name);
  return names;
}

function int64Bytes(values: number[]): Uint8Array {
  return new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer);
}
