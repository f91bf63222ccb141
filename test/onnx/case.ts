// One ONNX conformance case run through the importer: build the model from
// model.onnx, feed the case's inputs, read every graph output, and compare
// with ONNX's rule |actual - expected| <= atol + rtol * |expected|. Shared by
// the conformance test and `npm run conformance`.
import type { Runtime } from '../../src/gpu/runtime.js';
import { importOnnx } from '../../src/model/import/onnx.js';
import type { HostTensor } from '../../src/model/import/onnx_tensor.js';
import { UnsupportedError } from '../../src/gpu/errors.js';

export const RTOL = 1e-3;
export const ATOL = 1e-5;

export interface OutputTensor { name: string; dims: number[]; data: Float32Array }

/** Imports and runs the model; every GPU buffer is released before returning. */
export async function runOnnxCase(rt: Runtime, model: Uint8Array, inputs: HostTensor[], name: string): Promise<OutputTensor[]> {
  const imported = await importOnnx(rt, model, { fileName: `${name}/model.onnx` });
  try {
    const feeds = inputs.map((h, i) => {
      if (h.dtype !== 'float32') throw new UnsupportedError(`${name}: input ${i} is ${h.dtype}`);
      return h.data;
    });
    const fwd = await imported.model.forward(feeds);
    try {
      const out: OutputTensor[] = [];
      // Without a batch axis the model ran one item: ONNX has no leading 1.
      const dims = (t: { shape: readonly number[] }) => (imported.batchAxis ? [...t.shape] : t.shape.slice(1));
      for (const [i, t] of fwd.outputs.entries()) out.push({ name: imported.outputNames[i]!, dims: dims(t), data: await t.read() });
      return out;
    } finally {
      fwd.release();
    }
  } finally {
    imported.model.destroy();
  }
}

export interface Comparison {
  pass: boolean;
  maxAbs: number;
  maxRel: number;
  /** Largest |a-e| / (atol + rtol |e|): at most 1 passes. */
  worstRatio: number;
  message: string;
}

function coords(flat: number, dims: readonly number[]): number[] {
  const out: number[] = [];
  for (let d = dims.length - 1; d >= 0; d--) {
    out.unshift(flat % dims[d]!);
    flat = Math.floor(flat / dims[d]!);
  }
  return out;
}

export function compareOutput(actual: OutputTensor, expected: HostTensor, what: string): Comparison {
  const fail = (message: string): Comparison => ({ pass: false, maxAbs: NaN, maxRel: NaN, worstRatio: Infinity, message });
  if (actual.dims.join(',') !== expected.dims.join(',')) return fail(`${what}: shape [${actual.dims}], expected [${expected.dims}]`);
  const a = actual.data, e = expected.data;
  let worst = 0, worstRatio = -1, outside = 0, maxAbs = 0, maxRel = 0;
  for (let i = 0; i < e.length; i++) {
    if (Number.isNaN(a[i])) return fail(`${what}: element [${coords(i, actual.dims)}] is NaN (expected ${e[i]})`);
    const d = Math.abs(a[i]! - Number(e[i]));
    maxAbs = Math.max(maxAbs, d);
    if (e[i] !== 0) maxRel = Math.max(maxRel, d / Math.abs(Number(e[i])));
    const ratio = d / (ATOL + RTOL * Math.abs(Number(e[i])));
    if (ratio > 1) outside++;
    if (ratio > worstRatio) { worstRatio = ratio; worst = i; }
  }
  const message = outside === 0 ? `${what}: ok` : `${what}: ${outside} of ${e.length} elements outside |a-e| <= ${ATOL} + ${RTOL}*|e|; `
    + `worst [${coords(worst, actual.dims)}]: got ${a[worst]}, expected ${e[worst]}`;
  return { pass: outside === 0, maxAbs, maxRel, worstRatio, message };
}
