// Runs in Chromium (see conformance.ts): one ONNX test case through the
// importer. The files come over the Vite server (fetch), not as JSON.
import { createRuntime, type Runtime } from '../src/index.js';
import { runOnnxCase, compareOutput } from '../test/onnx/case.js';
import { decodeTensor } from '../test/onnx/load.js';

export interface PageDataSet { name: string; inputs: string[]; outputs: string[] }
export interface PageCase { name: string; model: string; dataSets: PageDataSet[] }

export interface PageResult {
  pass: boolean;
  /** Largest errors over every output of every data set (NaN when nothing was compared). */
  maxAbs: number;
  maxRel: number;
  /** The first failure, or null when the case passed. */
  message: string | null;
}

let runtime: Promise<Runtime> | null = null;

/** One runtime for the page's cases; a new one after a lost device. */
async function getRuntime(): Promise<Runtime> {
  if (runtime) {
    const rt = await runtime.catch(() => null);
    if (!rt || rt.isLost) {
      rt?.destroy();
      runtime = null;
    }
  }
  runtime ??= createRuntime();
  try {
    return await runtime;
  } catch (e) {
    runtime = null;
    throw e;
  }
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`);
  return new Uint8Array(await response.arrayBuffer());
}

function describe(e: unknown): string {
  if (e instanceof Error) return e.name && e.name !== 'Error' ? `${e.name}: ${e.message}` : e.message;
  return String(e);
}

export async function runCase(c: PageCase): Promise<PageResult> {
  let maxAbs = NaN, maxRel = NaN;
  const result = (message: string | null): PageResult => ({ pass: message === null, maxAbs, maxRel, message });
  try {
    if (c.dataSets.length === 0) return result('no test_data_set_* folder');
    const rt = await getRuntime();
    const model = await fetchBytes(c.model);
    for (const set of c.dataSets) {
      const where = `${c.name}/${set.name}`;
      if (set.outputs.length === 0) return result(`${set.name}: no output_0.pb`);
      const inputs = await Promise.all(set.inputs.map(async (url, i) => decodeTensor(await fetchBytes(url), `${where}/input_${i}.pb`)));
      const expected = await Promise.all(set.outputs.map(async (url, i) => decodeTensor(await fetchBytes(url), `${where}/output_${i}.pb`)));
      const outputs = await runOnnxCase(rt, model, inputs, c.name);
      if (outputs.length !== expected.length) return result(`${set.name}: the model has ${outputs.length} outputs, the data set ${expected.length}`);
      for (const [i, out] of outputs.entries()) {
        const r = compareOutput(out, expected[i]!, `${set.name} output ${i} (${out.name})`);
        if (!Number.isNaN(r.maxAbs)) maxAbs = Number.isNaN(maxAbs) ? r.maxAbs : Math.max(maxAbs, r.maxAbs);
        if (!Number.isNaN(r.maxRel)) maxRel = Number.isNaN(maxRel) ? r.maxRel : Math.max(maxRel, r.maxRel);
        if (!r.pass) return result(r.message);
      }
    }
    return result(null);
  } catch (e) {
    return result(describe(e));
  }
}
