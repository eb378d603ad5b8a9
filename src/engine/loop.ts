// Several training steps in one session.run: the training-step graph becomes the body of an ONNX
// Loop whose carried state is the parameters and optimizer slots. onnxruntime-node can keep outputs
// on the device only for WebGPU ('gpu-buffer'), not for CUDA, so a step graph run once per step
// sends every parameter and slot to the GPU and back each time; inside a Loop they stay on the
// device for all K steps and travel once per run (docs/gpu.md). The body is the step graph itself,
// so K steps of the loop compute exactly what K runs of the step graph compute.
//
//   inputs:  'init.<name>' for every parameter and slot (values before the first step),
//            'steps.<input>' [K, ...] for every batch and noise input, 'steps.optim.lr' [K] and
//            'steps.optim.step' [K] (the step number each step sees)
//   outputs: 'final.next.<name>' for every parameter and slot (values after the last step),
//            'steps.loss', 'steps.grad_norm', 'steps.term.<name>' [K] (one value per step)
//
// Public API: buildTrainingLoop(step) -> { bytes, carried }, LOOP_NAMES.

import { DataType, decodeModel, encodeModel, type NodeProto, type ValueInfoProto } from './onnx/proto.js';
import type { TrainingStep } from './step.js';

export const LOOP_NAMES = {
  initial: (name: string) => `init.${name}`,
  perStep: (name: string) => `steps.${name}`,
  final: (name: string) => `final.next.${name}`,
} as const;

export interface TrainingLoop {
  bytes: Uint8Array;
  /** Parameter and slot names in carried order (the loop's state). */
  carried: string[];
}

/** The Loop model of a training step (see the header for its inputs and outputs). */
export function buildTrainingLoop(step: TrainingStep): TrainingLoop {
  const model = decodeModel(step.bytes);
  const body = model.graph;
  const inputs = new Map(body.inputs.map((v) => [v.name, v]));
  const carried = [...step.params.map((p) => p.name), ...step.slots.map((s) => s.name)];
  const scanned = ['loss', 'grad_norm', ...step.terms.map((t) => `term.${t}`)];
  const perStep = [...inputs.keys()].filter((name) => !carried.includes(name));

  const info = (name: string): ValueInfoProto => {
    const v = inputs.get(name);
    if (!v) throw new Error(`training loop: the step graph has no input '${name}'`);
    return v;
  };
  const node = (opType: string, ins: string[], outs: string[], name: string): NodeProto => ({
    name,
    opType,
    domain: '',
    inputs: ins,
    outputs: outs,
    attributes: [],
  });

  // Body: (iteration, condition, carried...) -> (condition, carried..., per-step scalars...). The
  // per-step inputs are read from the outer graph's [K, ...] tensors at this iteration.
  const iteration = 'loop.iteration';
  const condition = 'loop.condition';
  const bodyNodes: NodeProto[] = [
    ...perStep.map((name) =>
      node('Gather', [LOOP_NAMES.perStep(name), iteration], [name], `loop.read.${name}`),
    ),
    ...body.nodes,
    node('Identity', [condition], ['loop.condition_out'], 'loop.keep_going'),
  ];
  const outputOf = new Map(body.outputs.map((v) => [v.name, v]));
  const bodyGraph = {
    name: `${body.name}.body`,
    nodes: bodyNodes,
    initializers: body.initializers,
    inputs: [
      { name: iteration, elemType: DataType.INT64, shape: [] },
      { name: condition, elemType: DataType.BOOL, shape: [] },
      ...carried.map(info),
    ],
    outputs: [
      { name: 'loop.condition_out', elemType: DataType.BOOL, shape: [] },
      ...carried.map((name) => outputOf.get(`next.${name}`)!),
      ...scanned.map((name) => outputOf.get(name)!),
    ],
    valueInfo: [],
  };

  // Outer graph: the trip count is K = the length of the learning-rate list.
  const withSteps = (v: ValueInfoProto, name: string): ValueInfoProto => ({
    name,
    elemType: v.elemType,
    shape: ['steps', ...(v.shape ?? [])],
  });
  const outer = {
    name: `${body.name}.loop`,
    nodes: [
      node('Shape', [LOOP_NAMES.perStep('optim.lr')], ['loop.k1'], 'loop.count'),
      node('Squeeze', ['loop.k1', 'loop.axis0'], ['loop.k'], 'loop.count_scalar'),
      {
        ...node(
          'Loop',
          ['loop.k', 'loop.true', ...carried.map(LOOP_NAMES.initial)],
          [...carried.map(LOOP_NAMES.final), ...scanned.map(LOOP_NAMES.perStep)],
          'loop',
        ),
        attributes: [{ name: 'body', type: 5, g: bodyGraph }],
      },
    ],
    initializers: [
      { name: 'loop.axis0', dims: [1], dataType: DataType.INT64, int64Data: [0n] },
      { name: 'loop.true', dims: [], dataType: DataType.BOOL, int32Data: [1] },
    ],
    inputs: [
      ...carried.map((name) => ({ ...info(name), name: LOOP_NAMES.initial(name) })),
      ...perStep.map((name) => withSteps(info(name), LOOP_NAMES.perStep(name))),
    ],
    outputs: [
      ...carried.map((name) => ({ ...info(name), name: LOOP_NAMES.final(name) })),
      ...scanned.map((name) => withSteps(outputOf.get(name)!, LOOP_NAMES.perStep(name))),
    ],
    valueInfo: [],
  };
  return { bytes: encodeModel({ ...model, graph: outer }), carried };
}
