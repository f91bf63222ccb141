// Tiny ONNX models written in the test with onnx-proto: one or a few nodes,
// float initializers (or int64 ones for shapes, axes, indices), a float input.
import { onnx } from 'onnx-proto';

type Attr = number | number[] | string | { floats: number[] } | { float: number };

export interface OnnxNodeSpec {
  op: string;
  name?: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, Attr>;
}

export interface OnnxModelSpec {
  opset?: number;
  nodes: OnnxNodeSpec[];
  /** Float initializers by name, or int64 ones (`int64: true`). */
  inits?: Record<string, { readonly dims: readonly number[]; readonly data: ArrayLike<number>; readonly int64?: boolean }>;
  inputs: Array<{ name: string; dims: Array<number | string> }>;
  outputs: string[];
}

const T = onnx.AttributeProto.AttributeType;

function attribute(name: string, v: Attr): onnx.IAttributeProto {
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  return { name, type: T.FLOAT, f: v.float };
}

export function onnxModel(spec: OnnxModelSpec): Uint8Array {
  const init = Object.entries(spec.inits ?? {}).map(([name, t]) => t.int64
    ? { name, dims: [...t.dims], dataType: onnx.TensorProto.DataType.INT64, int64Data: Array.from(t.data) }
    : { name, dims: [...t.dims], dataType: onnx.TensorProto.DataType.FLOAT, floatData: Array.from(t.data) });
  const info = (name: string, dims?: Array<number | string>) => ({
    name, type: { tensorType: { elemType: 1, shape: dims ? { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } : undefined } },
  });
  return onnx.ModelProto.encode({
    irVersion: 8, opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    graph: {
      name: 'test',
      node: spec.nodes.map((n, i) => ({
        opType: n.op, name: n.name ?? `${n.op.toLowerCase()}${i}`, input: n.inputs, output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
      initializer: init,
      input: spec.inputs.map((i) => info(i.name, i.dims)),
      output: spec.outputs.map((o) => info(o)),
    },
  }).finish();
}
