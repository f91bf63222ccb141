// Projections of an imported model against the float64 DeconvNet of
// test/ref/net.ts, and Keras weights in the reference's layout.
import { expect } from 'vitest';
import { createDeconvNet, type Model } from '../../src/index.js';
import { expectClose } from './gpu.js';
import { refForward, refProject, type RefLayer, type Mode } from '../ref/net.js';

const MODES: Mode[] = ['deconvnet', 'guided', 'gradient'];

/** Keras conv kernel [k, k, in, out] as [out, in, k, k]. */
export function kerasConvWeight(k: Float32Array, size: number, cin: number, cout: number): Float64Array {
  const w = new Float64Array(k.length);
  for (let o = 0; o < cout; o++) for (let i = 0; i < cin; i++) for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    w[((o * cin + i) * size + y) * size + x] = k[((y * size + x) * cin + i) * cout + o]!;
  }
  return w;
}

/** Keras depthwise kernel [k, k, C, mult] as a grouped conv's [C * mult, 1, k, k] (output c * mult + m). */
export function kerasDepthwiseWeight(d: Float32Array, size: number, c: number, mult: number): Float64Array {
  const w = new Float64Array(d.length);
  for (let ch = 0; ch < c; ch++) for (let m = 0; m < mult; m++) for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    w[((ch * mult + m) * size + y) * size + x] = d[((y * size + x) * c + ch) * mult + m]!;
  }
  return w;
}

/** Projects `layer`'s channel in every mode, seeded with 1 at `at` and with the activation at the maximum, and compares with the float64 DeconvNet. */
export async function expectProjections(model: Model, ref: RefLayer[], input: Float32Array, shape: number[], layer: string, channel: number, at: { y: number; x: number }): Promise<void> {
  const saved = refForward(ref, { data: Float64Array.from(input), shape });
  const top = ref.length - 1;
  const fwd = await model.forward(input);
  expectClose(await fwd.activation(layer).read(), saved[top]!.output.data, `${layer} forward`);
  const deconv = createDeconvNet(model);
  try {
    for (const mode of MODES) {
      for (const [position, seedOne] of [[at, true], ['max', false]] as const) {
        const proj = await deconv.project(fwd, { layer, channel, position, mode, seed: seedOne ? 'one' : 'activation' });
        const { data } = await proj.read();
        proj.release();
        const expected = refProject(ref, saved, top, channel, position, mode, seedOne).data;
        expect(expected.some((v) => v !== 0), `${mode} ${JSON.stringify(position)}: the reference reaches the input`).toBe(true);
        expectClose(data, expected, `${layer} ${mode} ${JSON.stringify(position)}`);
      }
    }
  } finally {
    fwd.release();
  }
  // The gradient reference is the exact derivative: central differences of the float64 forward, at 48 inputs.
  const x = Float64Array.from(input);
  const plane = saved[top]!.output.shape[3]! * at.y + at.x;
  const [, c, h, w] = saved[top]!.output.shape as number[];
  const f = () => {
    const act = refForward(ref, { data: x, shape })[top]!.output.data;
    return act[(0 * c! + channel) * h! * w! + plane]! + act[(1 * c! + channel) * h! * w! + plane]!;
  };
  const exact = refProject(ref, saved, top, channel, at, 'gradient', true).data;
  // 40 inputs the gradient reaches and 8 anywhere.
  const reached = [...exact.keys()].filter((i) => exact[i] !== 0);
  expect(reached.length, 'inputs the gradient reaches').toBeGreaterThan(0);
  const spread = (from: number[], n: number) => Array.from({ length: n }, (_, k) => from[Math.floor(((k + 0.5) / n) * from.length)]!);
  const picks = [...spread(reached, 40), ...spread([...exact.keys()], 8)];
  const numeric = picks.map((i) => {
    const keep = x[i]!, eps = 1e-6;
    x[i] = keep + eps; const up = f();
    x[i] = keep - eps; const down = f();
    x[i] = keep;
    return (up - down) / (2 * eps);
  });
  expectClose(picks.map((i) => exact[i]!), numeric, 'float64 gradient vs central differences', { rel: 1e-6, elem: 1e-5 });
}

