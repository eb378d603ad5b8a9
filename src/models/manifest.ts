// The JSON manifest that sits beside every ONNX file in a model directory. It describes what
// the file is, what it consumes and produces, and where it came from; the registry checks the
// file against it at load time (see docs/models.md).

export type ModelKind =
  | 'audio-encoder'
  | 'visual-encoder'
  | 'parser'
  | 'localizer'
  | 'embedder'
  | 'classifier'
  | 'other';

export type TensorDtype = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';

/** A tensor's name, element type and shape; strings are symbolic dimensions (e.g. 'batch'). */
export interface TensorSpec {
  name: string;
  dtype: TensorDtype;
  shape: (number | string)[];
}

export interface ModelManifest {
  /** Unique name within a model directory, e.g. 'dsp-audio' or 'link-synthav'. */
  name: string;
  kind: ModelKind;
  version: string;
  /** ONNX file name relative to the manifest. */
  file: string;
  /** Hex sha256 of the ONNX file. */
  sha256: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Class names in output order, for heads. */
  classes?: string[];
  /** Decision thresholds: one for all classes or one per class name. */
  thresholds?: number | Record<string, number>;
  /** Parameters the runtime needs to feed the model (sample rate, fps, frame size, ...). */
  preprocessing?: Record<string, unknown>;
  /** Feature dimensions a head expects or an encoder provides, checked between encoders and heads. */
  features?: { audio?: number; visual?: number; visualMap?: [number, number, number] };
  provenance?: {
    source: string;
    command?: string;
    trainedOn?: string;
    seed?: number;
    created?: string;
  };
  /** Evaluation results recorded at export (name -> value). */
  metrics?: Record<string, number>;
}
