// What a model file consumes and produces, read from its ModelProto: the shape of the contract
// that manifests describe (see manifest.ts). Graph inputs that are also initializers
// (older exporters list weights as inputs) are not part of the signature.
//
// Public API: modelSignature(model) -> { irVersion, opset, inputs, outputs }.

import type { TensorDtype, TensorSpec } from './manifest.js';
import { DataType, ModelProto, ValueInfoProto } from '../engine/onnx/proto.js';

const DTYPES: Record<number, TensorDtype> = {
  [DataType.FLOAT]: 'float32',
  [DataType.DOUBLE]: 'float64',
  [DataType.INT64]: 'int64',
  [DataType.INT32]: 'int32',
  [DataType.UINT8]: 'uint8',
  [DataType.BOOL]: 'bool',
};

export interface ModelSignature {
  irVersion: number;
  /** Version of the default ('' / 'ai.onnx') operator set, 0 if not imported. */
  opset: number;
  inputs: SignatureTensor[];
  outputs: SignatureTensor[];
}

/** Like TensorSpec, but dtype is undefined for element types manifests cannot express (e.g. float16). */
export interface SignatureTensor extends Omit<TensorSpec, 'dtype' | 'shape'> {
  dtype?: TensorDtype;
  /** undefined when the file does not declare the rank; null for an unnamed unknown dimension. */
  shape?: (number | string | null)[];
}

function tensor(v: ValueInfoProto): SignatureTensor {
  return {
    name: v.name,
    dtype: v.elemType === undefined ? undefined : DTYPES[v.elemType],
    shape: v.shape,
  };
}

export function modelSignature(model: ModelProto): ModelSignature {
  const weights = new Set(model.graph.initializers.map((t) => t.name));
  const opset = model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  return {
    irVersion: model.irVersion,
    opset: opset?.version ?? 0,
    inputs: model.graph.inputs.filter((v) => !weights.has(v.name)).map(tensor),
    outputs: model.graph.outputs.map(tensor),
  };
}
