// Reverse-mode differentiation of builder graphs. gradients(g, loss, params) appends the
// backward pass to the same Graph, so forward and backward run in one onnxruntime session.
// Each op's rule maps the output gradient to input gradients (rules.ts); broadcasting is undone
// by summing gradients back to each input's shape.
//
// Public API: gradients(g, loss, wrt) -> gradient tensors in wrt order (undefined where the loss
// does not depend on that tensor).

import { Graph, GraphNode, Tensor } from '../onnx/builder.js';
import { RULES } from './rules.js';

const FLOAT = new Set(['float32', 'float64']);

export function gradients(g: Graph, loss: Tensor, wrt: Tensor[]): (Tensor | undefined)[] {
  if (loss.rank !== 0 || !FLOAT.has(loss.dtype)) {
    throw new Error(
      `gradients: the loss must be a float scalar, got ${loss.dtype} [${loss.shape}] '${loss.name}'`,
    );
  }
  // Tensors that depend (differentiably) on some wrt tensor.
  const live = new Set(wrt.map((t) => t.name));
  const nodes: GraphNode[] = [...g.nodes];
  for (const n of nodes) {
    if (!n.inputs.some((i) => live.has(i))) continue;
    for (const o of n.outputs) {
      if (!g.gradientStops.has(o) && FLOAT.has(g.tensor(o).dtype)) live.add(o);
    }
  }
  if (!live.has(loss.name)) return wrt.map(() => undefined);

  const pending = new Map<string, Tensor[]>();
  const add = (name: string, grad: Tensor) => {
    const list = pending.get(name);
    if (list) list.push(grad);
    else pending.set(name, [grad]);
  };
  const total = (name: string): Tensor | undefined => {
    const list = pending.get(name);
    if (!list) return undefined;
    const sum = list.reduce((a, b) => g.add(a, b));
    pending.set(name, [sum]);
    return sum;
  };
  add(loss.name, g.scalar(1, loss.dtype));

  g.scope('grad', () => {
    for (let k = nodes.length - 1; k >= 0; k--) {
      const n = nodes[k];
      if (!n.outputs.some((o) => live.has(o) && pending.has(o))) continue;
      const needs = n.inputs.map((i) => i !== '' && live.has(i));
      if (!needs.some(Boolean)) continue;
      const rule = RULES[n.op];
      if (!rule) {
        throw new Error(
          `${n.scope}: no gradient rule for ${n.op} (node ${n.name}); wrap its input in stopGradient or add a rule (docs/engine.md)`,
        );
      }
      const dys = n.outputs.map((o) => (live.has(o) ? total(o) : undefined));
      const inputs = n.inputs.map((i) => (i === '' ? undefined : g.tensor(i)));
      const outputs = n.outputs.map((o) => g.tensor(o));
      const grads = g.scope(n.scope === '(top level)' ? n.op : n.scope, () =>
        rule({ g, node: n, inputs, outputs, dys, needs }),
      );
      grads.forEach((grad, i) => {
        if (grad && needs[i]) add(n.inputs[i], grad);
      });
    }
  });
  return wrt.map((t) => total(t.name));
}
