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
import type { GraphProto, ModelProto, NodeProto, ValueInfoProto } from '../onnx/proto.js';
import { AttrType, DataType } from '../onnx/proto.js';

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
    throw new ComposeError(`the model uses opset ${opset}; preprocessing prefixes need opset ${MIN_OPSET} or later`);
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
      throw new ComposeError(`the prefix input '${input.name}' is also a name inside the model; rename the prefix input`);
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
    initializers: [...prefix.graph.initializers.map((t) => ({ ...t, name: rename(t.name) })), ...model.graph.initializers],
    inputs: [...prefix.graph.inputs, ...model.graph.inputs.filter((i) => !linked.has(i.name))],
    valueInfo: [...model.graph.valueInfo],
  };
  return { ...model, irVersion: Math.max(model.irVersion, prefix.irVersion), graph };
}

/** Replaces `output` by its L2-normalised version (over the last axis), keeping its name. */
export function l2NormalizeOutput(model: ModelProto, output: string, epsilon = 1e-12): void {
  const g = model.graph;
  const declared = g.outputs.find((o) => o.name === output);
  if (!declared) throw new ComposeError(`the model has no output '${output}'`);
  if (declared.elemType !== DataType.FLOAT) throw new ComposeError(`output '${output}' is not float32`);
  const raw = `avvp_l2/${output}_raw`;
  for (const node of g.nodes) {
    node.outputs = node.outputs.map((n) => (n === output ? raw : n));
    node.inputs = node.inputs.map((n) => (n === output ? raw : n));
  }
  const name = (s: string) => `avvp_l2/${output}_${s}`;
  g.initializers.push(
    { name: name('axes'), dims: [1], dataType: DataType.INT64, raw: int64Bytes([-1]) },
    { name: name('eps'), dims: [], dataType: DataType.FLOAT, raw: new Uint8Array(Float32Array.of(epsilon).buffer) },
  );
  const node = (op: string, inputs: string[], out: string, attributes: NodeProto['attributes'] = []): NodeProto => ({
    name: `${out}_node`,
    opType: op,
    domain: '',
    inputs,
    outputs: [out],
    attributes,
  });
  g.nodes.push(
    node('Mul', [raw, raw], name('sq')),
    node('ReduceSum', [name('sq'), name('axes')], name('sumsq'), [{ name: 'keepdims', type: AttrType.INT, i: 1n }]),
    node('Sqrt', [name('sumsq')], name('norm')),
    node('Max', [name('norm'), name('eps')], name('safe')),
    node('Div', [raw, name('safe')], output),
  );
}

function checkLink(out: ValueInfoProto, input: ValueInfoProto): void {
  if (out.elemType !== undefined && input.elemType !== undefined && out.elemType !== input.elemType)
    throw new ComposeError(
      `the prefix output '${out.name}' has element type ${out.elemType}, the model input ${input.elemType}`,
    );
  if (out.shape === undefined || input.shape === undefined) return;
  if (out.shape.length !== input.shape.length)
    throw new ComposeError(`the prefix output '${out.name}' has rank ${out.shape.length}, the model input ${input.shape.length}`);
  out.shape.forEach((d, axis) => {
    const want = input.shape![axis];
    if (typeof d === 'number' && typeof want === 'number' && d !== want)
      throw new ComposeError(`the prefix output '${out.name}' has ${d} at axis ${axis}, the model input ${want}`);
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
