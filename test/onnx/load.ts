// Decoding of one ONNX conformance case: model.onnx bytes and the
// input_N.pb / output_N.pb tensors (TensorProto) of its test_data_set_0.
import { onnx } from 'onnx-proto';
import { commands } from 'vitest/browser';
import { tensorFromProto, type HostTensor } from '../../src/model/import/onnx_tensor.js';
// The commands' types come from the module augmentation in commands.ts (a Node-only file, never imported here).

export type { HostTensor };

export interface OnnxCase {
  name: string;
  model: Uint8Array;
  inputs: HostTensor[];
  outputs: HostTensor[];
}

export function fromBase64(text: string): Uint8Array {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

export function decodeTensor(bytes: Uint8Array, where: string): HostTensor {
  return tensorFromProto(onnx.TensorProto.decode(bytes), where);
}

/** Reads a case through the server-side command (see commands.ts) and decodes its tensors. */
export async function loadCase(name: string): Promise<OnnxCase> {
  const files = await commands.onnxReadCase(name);
  return {
    name,
    model: fromBase64(files.model),
    inputs: files.inputs.map((b, i) => decodeTensor(fromBase64(b), `${name} input_${i}.pb`)),
    outputs: files.outputs.map((b, i) => decodeTensor(fromBase64(b), `${name} output_${i}.pb`)),
  };
}
