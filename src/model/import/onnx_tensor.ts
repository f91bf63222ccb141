// ONNX protobuf decoding: ModelProto through onnx-proto (the ONNX schema for
// protobufjs), TensorProto values to host arrays, and node attributes read
// with type checks. Every failure is a FormatError naming the file and the
// place, since these bytes come from users' files.
//
// onnx-proto and protobufjs (~100 kB minified) are loaded by a dynamic import
// at the first decode, so an app that never imports ONNX does not ship them
// (bundlers split them into their own chunk). Everything after the decode
// reads plain objects; the few enum values it needs are the ONNX standard's
// own numbers, written out below.
import type { onnx } from 'onnx-proto';
import { FormatError, UnsupportedError } from '../../gpu/errors.js';

/** A tensor on the host. Integer tensors (shapes, axes, indices) are plain numbers. */
export type HostTensor =
  | { dtype: 'float32'; dims: number[]; data: Float32Array }
  | { dtype: 'int64'; dims: number[]; data: number[] };

/** protobufjs hands out 64-bit integers as Long objects when they do not fit a double exactly. */
export function toNumber(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

type OnnxProto = typeof onnx;
let protoModule: Promise<OnnxProto> | undefined;

/**
 * onnx-proto is CommonJS: Node and Rollup hand its `module.exports` over as
 * the default export, esbuild's pre-bundling may also give `onnx` by name.
 */
function loadOnnxProto(): Promise<OnnxProto> {
  protoModule ??= import('onnx-proto').then(
    (m: { onnx?: OnnxProto; default?: { onnx?: OnnxProto } }) => m.onnx ?? m.default!.onnx!,
    (e: unknown) => {
      protoModule = undefined; // a chunk that failed to load may load on the next try
      throw e;
    },
  );
  return protoModule;
}

/** Decodes a ModelProto; truncated or corrupt bytes become a FormatError. */
export async function decodeModel(bytes: Uint8Array, file: string): Promise<onnx.ModelProto> {
  const proto = await loadOnnxProto();
  try {
    return proto.ModelProto.decode(bytes);
  } catch (e) {
    throw new FormatError(`${file}: not a readable ONNX model (protobuf: ${(e as Error).message})`);
  }
}

/** TensorProto.DataType (onnx.proto), by number. */
export const ONNX_DATA_TYPES = [
  'UNDEFINED', 'FLOAT', 'UINT8', 'INT8', 'UINT16', 'INT16', 'INT32', 'INT64', 'STRING',
  'BOOL', 'FLOAT16', 'DOUBLE', 'UINT32', 'UINT64', 'COMPLEX64', 'COMPLEX128', 'BFLOAT16',
] as const;
const T = { FLOAT: 1, INT32: 6, INT64: 7, DOUBLE: 11 } as const;
/** TensorProto.DataLocation.EXTERNAL (onnx.proto). */
const EXTERNAL_DATA = 1;

/** AttributeProto.AttributeType (onnx.proto), by number. */
export const ONNX_ATTRIBUTE_TYPES = [
  'UNDEFINED', 'FLOAT', 'INT', 'STRING', 'TENSOR', 'GRAPH', 'FLOATS', 'INTS', 'STRINGS',
  'TENSORS', 'GRAPHS', 'SPARSE_TENSOR', 'SPARSE_TENSORS', 'TYPE_PROTO', 'TYPE_PROTOS',
] as const;
type AttributeType = (typeof ONNX_ATTRIBUTE_TYPES)[number];

/**
 * The tensor's values, from raw_data (always little-endian) or the typed
 * repeated field. Float tensors must be finite: a NaN weight would silently
 * poison every activation downstream.
 */
export function tensorFromProto(t: onnx.ITensorProto, where: string): HostTensor {
  const dims = (t.dims ?? []).map(toNumber);
  const label = `${where}: tensor "${t.name || '(unnamed)'}" [${dims}]`;
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new FormatError(`${label}: dimensions must be non-negative integers`);
  const size = dims.reduce((a, b) => a * b, 1);
  if (size > 2 ** 31) throw new FormatError(`${label}: ${size} elements is not a plausible tensor`);
  if (t.dataLocation === EXTERNAL_DATA || (t.externalData?.length ?? 0) > 0) {
    throw new UnsupportedError(`${label}: weights in external data files are not supported (save the model with its weights inside)`);
  }
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  const rawSize = (bytesPer: number) => {
    if (view!.byteLength !== size * bytesPer) throw new FormatError(`${label}: raw_data has ${view!.byteLength} bytes, ${size} elements need ${size * bytesPer}`);
  };
  const repeated = <V>(values: V[] | null | undefined, field: string): V[] => {
    const v = values ?? [];
    if (v.length !== size) throw new FormatError(`${label}: ${field} has ${v.length} values, expected ${size}`);
    return v;
  };
  switch (t.dataType) {
    case T.FLOAT:
    case T.DOUBLE: {
      const wide = t.dataType === T.DOUBLE;
      // The sizes are checked before allocating: corrupt dims may claim gigabytes.
      if (view) rawSize(wide ? 8 : 4);
      const values = view ? null : repeated(wide ? t.doubleData : t.floatData, wide ? 'double_data' : 'float_data');
      const data = new Float32Array(size);
      if (values) data.set(values);
      else for (let i = 0; i < size; i++) data[i] = wide ? view!.getFloat64(i * 8, true) : view!.getFloat32(i * 4, true);
      for (let i = 0; i < size; i++) {
        if (!Number.isFinite(data[i]!)) throw new FormatError(`${label}: element ${i} is ${data[i]} (weights must be finite)`);
      }
      return { dtype: 'float32', dims, data };
    }
    case T.INT64: {
      let data: number[];
      if (view) {
        rawSize(8);
        data = Array.from({ length: size }, (_, i) => Number(view.getBigInt64(i * 8, true)));
      } else {
        data = repeated(t.int64Data, 'int64_data').map(toNumber);
      }
      return { dtype: 'int64', dims, data };
    }
    case T.INT32: {
      let data: number[];
      if (view) {
        rawSize(4);
        data = Array.from({ length: size }, (_, i) => view.getInt32(i * 4, true));
      } else {
        data = repeated(t.int32Data, 'int32_data');
      }
      return { dtype: 'int64', dims, data };
    }
    default:
      throw new UnsupportedError(`${label}: element type ${ONNX_DATA_TYPES[t.dataType ?? 0] ?? t.dataType} is not supported (float, double, int32, int64)`);
  }
}

/**
 * A node's attributes. Every attribute must be read by the op's mapping; one
 * left unread means a semantic the importer would silently drop.
 */
export class Attrs {
  readonly #byName = new Map<string, onnx.IAttributeProto>();
  readonly #read = new Set<string>();

  constructor(readonly where: string, node: onnx.INodeProto) {
    for (const a of node.attribute ?? []) this.#byName.set(a.name ?? '', a);
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  #get(name: string, type: AttributeType): onnx.IAttributeProto | undefined {
    this.#read.add(name);
    const a = this.#byName.get(name);
    // Old exporters leave `type` unset (0); then the field itself tells.
    if (a && a.type && ONNX_ATTRIBUTE_TYPES[a.type] !== type) {
      throw new FormatError(`${this.where}: attribute ${name} has type ${ONNX_ATTRIBUTE_TYPES[a.type] ?? a.type}, expected ${type}`);
    }
    return a;
  }

  #required<V>(name: string, v: V | undefined): V {
    if (v === undefined) throw new FormatError(`${this.where}: attribute ${name} is required`);
    return v;
  }

  int(name: string, dflt?: number): number {
    const a = this.#get(name, 'INT');
    return this.#required(name, a ? toNumber(a.i) : dflt);
  }

  float(name: string, dflt?: number): number {
    const a = this.#get(name, 'FLOAT');
    return this.#required(name, a ? a.f ?? 0 : dflt);
  }

  optionalFloat(name: string): number | undefined {
    const a = this.#get(name, 'FLOAT');
    return a ? a.f ?? 0 : undefined;
  }

  ints(name: string, dflt?: number[]): number[] {
    const a = this.#get(name, 'INTS');
    return this.#required(name, a ? (a.ints ?? []).map(toNumber) : dflt);
  }

  optionalInts(name: string): number[] | undefined {
    const a = this.#get(name, 'INTS');
    return a ? (a.ints ?? []).map(toNumber) : undefined;
  }

  floats(name: string): number[] | undefined {
    const a = this.#get(name, 'FLOATS');
    return a ? [...(a.floats ?? [])] : undefined;
  }

  string(name: string, dflt?: string): string {
    const a = this.#get(name, 'STRING');
    return this.#required(name, a ? new TextDecoder().decode(a.s ?? new Uint8Array()) : dflt);
  }

  tensor(name: string): HostTensor | undefined {
    const a = this.#get(name, 'TENSOR');
    return a?.t ? tensorFromProto(a.t, `${this.where} attribute ${name}`) : undefined;
  }

  /** Attributes with no effect on an inference forward pass. */
  ignore(...names: string[]): void {
    for (const n of names) this.#read.add(n);
  }

  assertAllRead(): void {
    const unread = [...this.#byName.keys()].filter((n) => !this.#read.has(n));
    if (unread.length) throw new UnsupportedError(`${this.where}: attribute(s) ${unread.join(', ')} are not supported`);
  }
}
