// Minimal protobuf wire-format writer and reader (proto2/proto3 share the wire format).
// Only what ONNX needs: varints (incl. 64-bit via bigint), fixed32/fixed64, length-delimited
// fields and packed repeated scalars. The reader keeps every field it sees, so messages it does
// not model can be re-emitted byte for byte (see onnx/proto.ts).

export const enum Wire {
  Varint = 0,
  Fixed64 = 1,
  Bytes = 2,
  Fixed32 = 5,
}

/** A protobuf field as read from the wire: numeric payloads stay raw for the caller to interpret. */
export interface RawField {
  field: number;
  wire: Wire;
  /** Varint value (as bigint, lossless), or undefined for other wire types. */
  varint?: bigint;
  /** Bytes of a length-delimited field, or the 4/8 little-endian bytes of a fixed field. */
  bytes?: Uint8Array;
}

export class ProtoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtoError';
  }
}

/** Appends fields to a growing buffer. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  /** Unsigned or two's-complement varint (negative int64 values take 10 bytes, as protobuf does). */
  rawVarint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    if (v < 0x80n) {
      this.byte(Number(v));
      return;
    }
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }

  tag(field: number, wire: Wire): void {
    this.rawVarint((field << 3) | wire);
  }

  varint(field: number, value: number | bigint): void {
    this.tag(field, Wire.Varint);
    this.rawVarint(value);
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, Wire.Bytes);
    this.rawVarint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  string(field: number, text: string): void {
    this.bytes(field, new TextEncoder().encode(text));
  }

  float(field: number, value: number): void {
    this.tag(field, Wire.Fixed32);
    this.ensure(4);
    new DataView(this.buf.buffer).setFloat32(this.len, value, true);
    this.len += 4;
  }

  /** Nested message written by `fill` into its own writer. */
  message(field: number, fill: (w: ProtoWriter) => void): void {
    const inner = new ProtoWriter();
    fill(inner);
    this.bytes(field, inner.finish());
  }

  packedVarints(field: number, values: readonly (number | bigint)[]): void {
    if (values.length === 0) return;
    const inner = new ProtoWriter();
    for (const v of values) inner.rawVarint(v);
    this.bytes(field, inner.finish());
  }

  packedFloats(field: number, values: readonly number[]): void {
    if (values.length === 0) return;
    const data = new Uint8Array(values.length * 4);
    const view = new DataView(data.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    this.bytes(field, data);
  }

  /** Re-emit a field exactly as it was read. */
  raw(f: RawField): void {
    this.tag(f.field, f.wire);
    if (f.wire === Wire.Varint) this.rawVarint(f.varint!);
    else if (f.wire === Wire.Bytes) {
      this.rawVarint(f.bytes!.length);
      this.ensure(f.bytes!.length);
      this.buf.set(f.bytes!, this.len);
      this.len += f.bytes!.length;
    } else {
      this.ensure(f.bytes!.length);
      this.buf.set(f.bytes!, this.len);
      this.len += f.bytes!.length;
    }
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Splits one message's bytes into its fields; throws ProtoError on truncated or malformed input. */
export function readFields(data: Uint8Array, what: string): RawField[] {
  const fields: RawField[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (pos >= data.length) throw new ProtoError(`${what}: truncated varint at byte ${pos}`);
      const b = data[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    throw new ProtoError(`${what}: varint longer than 10 bytes at byte ${pos}`);
  };
  while (pos < data.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 0) throw new ProtoError(`${what}: invalid field number 0 at byte ${pos}`);
    if (wire === Wire.Varint) fields.push({ field, wire, varint: varint() });
    else if (wire === Wire.Bytes || wire === Wire.Fixed32 || wire === Wire.Fixed64) {
      const n = wire === Wire.Bytes ? Number(varint()) : wire === Wire.Fixed32 ? 4 : 8;
      if (pos + n > data.length) {
        throw new ProtoError(
          `${what}: field ${field} needs ${n} bytes but only ${data.length - pos} remain (file truncated?)`,
        );
      }
      fields.push({ field, wire, bytes: data.subarray(pos, pos + n) });
      pos += n;
    } else {
      throw new ProtoError(
        `${what}: unsupported wire type ${wire} for field ${field} at byte ${pos} (not a protobuf file?)`,
      );
    }
  }
  return fields;
}

/** Decodes a packed (or single unpacked) repeated varint field into bigints. */
export function unpackVarints(f: RawField, what: string): bigint[] {
  if (f.wire === Wire.Varint) return [f.varint!];
  const out: bigint[] = [];
  const data = f.bytes!;
  let pos = 0;
  while (pos < data.length) {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= data.length) throw new ProtoError(`${what}: truncated packed varint`);
      const b = data[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
    }
    out.push(BigInt.asUintN(64, result));
  }
  return out;
}

export function unpackFloats(f: RawField, what: string): number[] {
  const data = f.bytes!;
  if (f.wire === Wire.Fixed32) return [new DataView(data.buffer, data.byteOffset, 4).getFloat32(0, true)];
  if (f.wire !== Wire.Bytes || data.length % 4 !== 0) throw new ProtoError(`${what}: malformed float list`);
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  const out: number[] = [];
  for (let i = 0; i < data.length; i += 4) out.push(view.getFloat32(i, true));
  return out;
}

export function decodeString(f: RawField, what: string): string {
  if (f.wire !== Wire.Bytes) throw new ProtoError(`${what}: expected a string in field ${f.field}`);
  return new TextDecoder('utf-8', { fatal: false }).decode(f.bytes!);
}

export function asSigned(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}
