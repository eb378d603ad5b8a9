// ONNX messages (onnx.proto, IR 8+) as plain TypeScript objects, with an encoder and a decoder
// built on protobuf.ts. Fields this module does not model are kept in `unknown` and written back
// unchanged, so a decoded third-party model (e.g. a CLIP export) re-encodes without loss.
//
// Public API: encodeModel, decodeModel, tensorData, DataType, AttrType and the *Proto types.

import {
  ProtoError,
  ProtoWriter,
  RawField,
  Wire,
  asSigned,
  decodeString,
  readFields,
  unpackFloats,
  unpackVarints,
} from './protobuf.js';

export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;

export const AttrType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

export interface TensorProto {
  name: string;
  dims: number[];
  dataType: number;
  raw?: Uint8Array;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: bigint[];
  doubleData?: number[];
  unknown?: RawField[];
}

export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: bigint;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats?: number[];
  ints?: bigint[];
  strings?: Uint8Array[];
  unknown?: RawField[];
}

export interface NodeProto {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: AttributeProto[];
  unknown?: RawField[];
}

/** A dimension: a fixed size, a symbolic name, or null when the file leaves it unspecified. */
export type DimProto = number | string | null;

export interface ValueInfoProto {
  name: string;
  /** Present only for tensor types; other types are kept raw in `unknown`. */
  elemType?: number;
  /** undefined = rank unknown. */
  shape?: DimProto[];
  unknown?: RawField[];
}

export interface GraphProto {
  name: string;
  nodes: NodeProto[];
  initializers: TensorProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
  unknown?: RawField[];
}

export interface OpsetId {
  domain: string;
  version: number;
}

export interface ModelProto {
  irVersion: number;
  opsetImports: OpsetId[];
  producerName: string;
  producerVersion?: string;
  docString?: string;
  graph: GraphProto;
  metadata: Record<string, string>;
  unknown?: RawField[];
}

// ---------------------------------------------------------------- encoding

function writeUnknown(w: ProtoWriter, unknown: RawField[] | undefined): void {
  for (const f of unknown ?? []) w.raw(f);
}

function writeTensor(w: ProtoWriter, t: TensorProto): void {
  w.packedVarints(1, t.dims);
  w.varint(2, t.dataType);
  if (t.floatData) w.packedFloats(4, t.floatData);
  if (t.int32Data) w.packedVarints(5, t.int32Data);
  if (t.int64Data) w.packedVarints(7, t.int64Data);
  w.string(8, t.name);
  if (t.raw) w.bytes(9, t.raw);
  if (t.doubleData) {
    const bytes = new Uint8Array(new Float64Array(t.doubleData).buffer);
    w.bytes(10, bytes);
  }
  writeUnknown(w, t.unknown);
}

function writeAttribute(w: ProtoWriter, a: AttributeProto): void {
  w.string(1, a.name);
  if (a.f !== undefined) w.float(2, a.f);
  if (a.i !== undefined) w.varint(3, a.i);
  if (a.s !== undefined) w.bytes(4, a.s);
  if (a.t) w.message(5, (m) => writeTensor(m, a.t!));
  if (a.g) w.message(6, (m) => writeGraph(m, a.g!));
  if (a.floats) w.packedFloats(7, a.floats);
  if (a.ints) w.packedVarints(8, a.ints);
  for (const s of a.strings ?? []) w.bytes(9, s);
  w.varint(20, a.type);
  writeUnknown(w, a.unknown);
}

function writeNode(w: ProtoWriter, n: NodeProto): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes) w.message(5, (m) => writeAttribute(m, a));
  if (n.domain) w.string(7, n.domain);
  writeUnknown(w, n.unknown);
}

function writeValueInfo(w: ProtoWriter, v: ValueInfoProto): void {
  w.string(1, v.name);
  if (v.elemType !== undefined) {
    w.message(2, (type) =>
      type.message(1, (tensor) => {
        tensor.varint(1, v.elemType!);
        if (v.shape) {
          tensor.message(2, (shape) => {
            for (const d of v.shape!) {
              shape.message(1, (dim) => {
                if (typeof d === 'number') dim.varint(1, d);
                else if (typeof d === 'string') dim.string(2, d);
              });
            }
          });
        }
      }),
    );
  }
  writeUnknown(w, v.unknown);
}

function writeGraph(w: ProtoWriter, g: GraphProto): void {
  for (const n of g.nodes) w.message(1, (m) => writeNode(m, n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, (m) => writeTensor(m, t));
  for (const v of g.inputs) w.message(11, (m) => writeValueInfo(m, v));
  for (const v of g.outputs) w.message(12, (m) => writeValueInfo(m, v));
  for (const v of g.valueInfo) w.message(13, (m) => writeValueInfo(m, v));
  writeUnknown(w, g.unknown);
}

/** Serialises a model to ONNX protobuf bytes. */
export function encodeModel(m: ModelProto): Uint8Array {
  const w = new ProtoWriter();
  w.varint(1, m.irVersion);
  w.string(2, m.producerName);
  if (m.producerVersion) w.string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.message(7, (g) => writeGraph(g, m.graph));
  for (const o of m.opsetImports) {
    w.message(8, (op) => {
      if (o.domain) op.string(1, o.domain);
      op.varint(2, o.version);
    });
  }
  for (const [key, value] of Object.entries(m.metadata)) {
    w.message(14, (e) => {
      e.string(1, key);
      e.string(2, value);
    });
  }
  writeUnknown(w, m.unknown);
  return w.finish();
}

// ---------------------------------------------------------------- decoding

function sub(f: RawField, what: string): RawField[] {
  if (f.wire !== Wire.Bytes) throw new ProtoError(`${what}: field ${f.field} should be a message`);
  return readFields(f.bytes!, what);
}

function num(f: RawField, what: string): number {
  if (f.wire !== Wire.Varint) throw new ProtoError(`${what}: field ${f.field} should be an integer`);
  return asSigned(f.varint!);
}

function readTensor(fields: RawField[], what: string): TensorProto {
  const t: TensorProto = { name: '', dims: [], dataType: 0 };
  const unknown: RawField[] = [];
  for (const f of fields) {
    switch (f.field) {
      case 1:
        t.dims.push(...unpackVarints(f, what).map(asSigned));
        break;
      case 2:
        t.dataType = num(f, what);
        break;
      case 4:
        (t.floatData ??= []).push(...unpackFloats(f, what));
        break;
      case 5:
        (t.int32Data ??= []).push(...unpackVarints(f, what).map(asSigned));
        break;
      case 7:
        (t.int64Data ??= []).push(...unpackVarints(f, what).map((v) => BigInt.asIntN(64, v)));
        break;
      case 8:
        t.name = decodeString(f, what);
        break;
      case 9:
        t.raw = f.bytes!.slice();
        break;
      case 10: {
        const b = f.bytes!.slice();
        if (b.length % 8 !== 0) throw new ProtoError(`${what}: malformed double_data`);
        (t.doubleData ??= []).push(...new Float64Array(b.buffer));
        break;
      }
      default:
        unknown.push(f);
    }
  }
  if (unknown.length) t.unknown = unknown;
  return t;
}

function readAttribute(fields: RawField[], what: string): AttributeProto {
  const a: AttributeProto = { name: '', type: 0 };
  const unknown: RawField[] = [];
  for (const f of fields) {
    switch (f.field) {
      case 1:
        a.name = decodeString(f, what);
        break;
      case 2:
        a.f = unpackFloats(f, what)[0];
        break;
      case 3:
        a.i = BigInt.asIntN(64, f.varint ?? 0n);
        break;
      case 4:
        a.s = f.bytes!.slice();
        break;
      case 5:
        a.t = readTensor(sub(f, what), `${what}.t`);
        break;
      case 6:
        a.g = readGraph(sub(f, what), `${what}.g`);
        break;
      case 7:
        (a.floats ??= []).push(...unpackFloats(f, what));
        break;
      case 8:
        (a.ints ??= []).push(...unpackVarints(f, what).map((v) => BigInt.asIntN(64, v)));
        break;
      case 9:
        (a.strings ??= []).push(f.bytes!.slice());
        break;
      case 20:
        a.type = num(f, what);
        break;
      default:
        unknown.push(f);
    }
  }
  if (unknown.length) a.unknown = unknown;
  return a;
}

function readNode(fields: RawField[], what: string): NodeProto {
  const n: NodeProto = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: [] };
  const unknown: RawField[] = [];
  for (const f of fields) {
    if (f.field === 1) n.inputs.push(decodeString(f, what));
    else if (f.field === 2) n.outputs.push(decodeString(f, what));
    else if (f.field === 3) n.name = decodeString(f, what);
    else if (f.field === 4) n.opType = decodeString(f, what);
    else if (f.field === 5) n.attributes.push(readAttribute(sub(f, what), `${what} attribute`));
    else if (f.field === 7) n.domain = decodeString(f, what);
    else unknown.push(f);
  }
  if (unknown.length) n.unknown = unknown;
  return n;
}

function readValueInfo(fields: RawField[], what: string): ValueInfoProto {
  const v: ValueInfoProto = { name: '' };
  const unknown: RawField[] = [];
  for (const f of fields) {
    if (f.field === 1) v.name = decodeString(f, what);
    else if (f.field === 2) {
      const typeFields = sub(f, what);
      const tensor = typeFields.find((t) => t.field === 1);
      if (!tensor || typeFields.length !== 1) {
        unknown.push(f); // sequence/map/optional types: keep as they are
        continue;
      }
      for (const tf of sub(tensor, what)) {
        if (tf.field === 1) v.elemType = num(tf, what);
        else if (tf.field === 2) {
          v.shape = sub(tf, what)
            .filter((d) => d.field === 1)
            .map((d) => {
              const dim = sub(d, what);
              const value = dim.find((x) => x.field === 1);
              const param = dim.find((x) => x.field === 2);
              if (value) return num(value, what);
              if (param) return decodeString(param, what);
              return null;
            });
        }
      }
    } else unknown.push(f);
  }
  if (unknown.length) v.unknown = unknown;
  return v;
}

function readGraph(fields: RawField[], what: string): GraphProto {
  const g: GraphProto = { name: '', nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [] };
  const unknown: RawField[] = [];
  for (const f of fields) {
    if (f.field === 1) g.nodes.push(readNode(sub(f, what), `${what} node ${g.nodes.length}`));
    else if (f.field === 2) g.name = decodeString(f, what);
    else if (f.field === 5) g.initializers.push(readTensor(sub(f, what), `${what} initializer`));
    else if (f.field === 11) g.inputs.push(readValueInfo(sub(f, what), `${what} input`));
    else if (f.field === 12) g.outputs.push(readValueInfo(sub(f, what), `${what} output`));
    else if (f.field === 13) g.valueInfo.push(readValueInfo(sub(f, what), `${what} value_info`));
    else unknown.push(f);
  }
  if (unknown.length) g.unknown = unknown;
  return g;
}

/** Parses ONNX protobuf bytes; throws ProtoError naming what is malformed or missing. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const what = 'ModelProto';
  const fields = readFields(bytes, what);
  const m: ModelProto = { irVersion: 0, opsetImports: [], producerName: '', graph: undefined!, metadata: {} };
  const unknown: RawField[] = [];
  for (const f of fields) {
    switch (f.field) {
      case 1:
        m.irVersion = num(f, what);
        break;
      case 2:
        m.producerName = decodeString(f, what);
        break;
      case 3:
        m.producerVersion = decodeString(f, what);
        break;
      case 6:
        m.docString = decodeString(f, what);
        break;
      case 7:
        m.graph = readGraph(sub(f, what), 'graph');
        break;
      case 8: {
        const op: OpsetId = { domain: '', version: 0 };
        for (const x of sub(f, what)) {
          if (x.field === 1) op.domain = decodeString(x, what);
          else if (x.field === 2) op.version = num(x, what);
        }
        m.opsetImports.push(op);
        break;
      }
      case 14: {
        let key = '';
        let value = '';
        for (const x of sub(f, what)) {
          if (x.field === 1) key = decodeString(x, what);
          else if (x.field === 2) value = decodeString(x, what);
        }
        m.metadata[key] = value;
        break;
      }
      default:
        unknown.push(f);
    }
  }
  if (unknown.length) m.unknown = unknown;
  if (m.irVersion <= 0) throw new ProtoError('not an ONNX model: ir_version is missing');
  if (!m.graph) throw new ProtoError('not an ONNX model: it has no graph');
  return m;
}

/** The values of an initializer as a typed array (raw_data or the typed repeated fields). */
export function tensorData(
  t: TensorProto,
): Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array {
  const count = t.dims.reduce((a, b) => a * b, 1);
  const fromRaw = <T>(make: (buf: ArrayBuffer, n: number) => T, size: number): T => {
    const raw = t.raw!;
    if (raw.length !== count * size) {
      throw new ProtoError(`tensor '${t.name}': raw_data has ${raw.length} bytes, expected ${count * size}`);
    }
    return make(raw.slice().buffer, count);
  };
  switch (t.dataType) {
    case DataType.FLOAT:
      return t.raw ? fromRaw((b, n) => new Float32Array(b, 0, n), 4) : Float32Array.from(t.floatData ?? []);
    case DataType.DOUBLE:
      return t.raw ? fromRaw((b, n) => new Float64Array(b, 0, n), 8) : Float64Array.from(t.doubleData ?? []);
    case DataType.INT64:
      return t.raw ? fromRaw((b, n) => new BigInt64Array(b, 0, n), 8) : BigInt64Array.from(t.int64Data ?? []);
    case DataType.INT32:
      return t.raw ? fromRaw((b, n) => new Int32Array(b, 0, n), 4) : Int32Array.from(t.int32Data ?? []);
    case DataType.UINT8:
    case DataType.BOOL:
      return t.raw ? fromRaw((b, n) => new Uint8Array(b, 0, n), 1) : Uint8Array.from(t.int32Data ?? []);
    default:
      throw new ProtoError(`tensor '${t.name}': data type ${t.dataType} is not supported here`);
  }
}
