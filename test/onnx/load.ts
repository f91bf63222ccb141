// Decoding of one ONNX conformance case: model.onnx (ModelProto) and the
// input_N.pb / output_N.pb tensors (TensorProto) of its test_data_set_0.
import { onnx } from 'onnx-proto';
import { commands } from 'vitest/browser';
// The commands' types come from the module augmentation in commands.ts (a Node-only file, never imported here).

/** A tensor on the host, as ONNX stores it. Only the element types the cases use. */
export type HostTensor =
  | { dtype: 'float32'; dims: number[]; data: Float32Array }
  | { dtype: 'int64'; dims: number[]; data: number[] };

export interface OnnxCase {
  name: string;
  model: onnx.ModelProto;
  inputs: HostTensor[];
  outputs: HostTensor[];
}

/** protobufjs hands out 64-bit integers as Long objects when they do not fit a double exactly. */
export function toNumber(v: number | { toNumber(): number }): number {
  return typeof v === 'number' ? v : v.toNumber();
}

/** The tensor's values, from raw_data (always little-endian) or the typed repeated field. */
export function tensorFromProto(t: onnx.ITensorProto): HostTensor {
  const dims = (t.dims ?? []).map(toNumber);
  const size = dims.reduce((a, b) => a * b, 1);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  const label = `tensor ${t.name || '(unnamed)'} [${dims}]`;
  switch (t.dataType) {
    case onnx.TensorProto.DataType.FLOAT: {
      const data = new Float32Array(size);
      if (view) {
        if (view.byteLength !== size * 4) throw new Error(`${label}: raw_data has ${view.byteLength} bytes, expected ${size * 4}`);
        for (let i = 0; i < size; i++) data[i] = view.getFloat32(i * 4, true);
      } else {
        const values = t.floatData ?? [];
        if (values.length !== size) throw new Error(`${label}: float_data has ${values.length} values, expected ${size}`);
        data.set(values);
      }
      return { dtype: 'float32', dims, data };
    }
    case onnx.TensorProto.DataType.INT64: {
      let data: number[];
      if (view) {
        if (view.byteLength !== size * 8) throw new Error(`${label}: raw_data has ${view.byteLength} bytes, expected ${size * 8}`);
        data = Array.from({ length: size }, (_, i) => Number(view.getBigInt64(i * 8, true)));
      } else {
        data = (t.int64Data ?? []).map(toNumber);
        if (data.length !== size) throw new Error(`${label}: int64_data has ${data.length} values, expected ${size}`);
      }
      return { dtype: 'int64', dims, data };
    }
    default:
      throw new Error(`${label}: element type ${t.dataType} is not supported by the test loader (float32, int64)`);
  }
}

function fromBase64(text: string): Uint8Array {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** Reads a case through the server-side command (see commands.ts) and decodes it. */
export async function loadCase(name: string): Promise<OnnxCase> {
  const files = await commands.onnxReadCase(name);
  const tensor = (b64: string) => tensorFromProto(onnx.TensorProto.decode(fromBase64(b64)));
  return {
    name,
    model: onnx.ModelProto.decode(fromBase64(files.model)),
    inputs: files.inputs.map(tensor),
    outputs: files.outputs.map(tensor),
  };
}
