// The single kernels the static report (bench/kernel-report.ts) and the
// device script (bench/device.ts) look at: VGG16's 3x3 convolutions (distinct
// shapes, at batch 1 and 16), their transposed convolutions (the DeconvNet's
// filter step, as the Conv2d layer records it: conv2dBackwardInput), and
// square matrix multiplies. Each case is recorded through the library's own
// ops, so whatever variant the kernel chooser picks (pinned, tuned, default)
// is what runs.
import type { Recorder } from '../src/gpu/recorder.js';
import type { Runtime } from '../src/gpu/runtime.js';
import type { Tensor } from '../src/gpu/tensor.js';
import type { TunableOp } from '../src/gpu/tuning.js';
import { conv2d, conv2dBackwardInput } from '../src/ops/conv2d.js';
import { matmul } from '../src/ops/matmul.js';
import { VGG16_BLOCKS } from './nets.js';

/** One distinct VGG16 conv shape: 3x3, padding 1, stride 1, fused bias + ReLU. */
export interface ConvShape { layers: string[]; inC: number; outC: number; size: number }

export interface KernelCase {
  op: TunableOp;
  /** e.g. "conv4_2,conv4_3 512->512 28x28 b1", "matmul 1024^3". */
  label: string;
  batch: number;
  /** Convolutions: the layer shape; matmul: null. */
  conv: ConvShape | null;
  /** Matmul: the side n of n x n x n. */
  n: number;
}

/** VGG16's 13 convolutions at `size`, merged where the shapes repeat (conv3_2 = conv3_3, ...). */
export function vggConvShapes(size: number): ConvShape[] {
  const shapes: ConvShape[] = [];
  let inC = 3, s = size;
  VGG16_BLOCKS.forEach((block, b) => {
    block.forEach((outC, i) => {
      const name = `conv${b + 1}_${i + 1}`;
      const same = shapes.find((x) => x.inC === inC && x.outC === outC && x.size === s);
      if (same) same.layers.push(name);
      else shapes.push({ layers: [name], inC, outC, size: s });
      inC = outC;
    });
    s = Math.floor(s / 2);
  });
  return shapes;
}

/** Forward convolutions at each batch, transposed ones at batch 1 (a projection starts from one image), then matmuls. */
export function kernelCases(opts: { size: number; batches: number[]; matmulNs: number[]; layers?: string[] }): KernelCase[] {
  const shapes = vggConvShapes(opts.size).filter((s) => !opts.layers || s.layers.some((l) => opts.layers!.includes(l)));
  const name = (c: ConvShape, b: number) => `${c.layers.join(',')} ${c.inC}->${c.outC} ${c.size}x${c.size} b${b}`;
  return [
    ...opts.batches.flatMap((batch) => shapes.map((conv): KernelCase => ({ op: 'conv2d', label: name(conv, batch), batch, conv, n: 0 }))),
    ...shapes.map((conv): KernelCase => ({ op: 'conv2dTranspose', label: `${name(conv, 1)} transposed`, batch: 1, conv, n: 0 })),
    ...opts.matmulNs.map((n): KernelCase => ({ op: 'matmul', label: `matmul ${n}^3`, batch: 1, conv: null, n })),
  ];
}

/** Multiply-adds of the direct algorithm (a transposed conv does its forward conv's). */
export function caseMacs(c: KernelCase): number {
  if (!c.conv) return c.n ** 3;
  return c.batch * c.conv.outC * c.conv.inC * 9 * c.conv.size * c.conv.size;
}

/** The case's operands in our layouts (NCHW, OIHW, row-major): name -> shape. */
export function operandShapes(c: KernelCase): Record<string, number[]> {
  if (!c.conv) return { a: [c.n, c.n], b: [c.n, c.n] };
  const { inC, outC, size } = c.conv;
  if (c.op === 'conv2dTranspose') return { dy: [c.batch, outC, size, size], weight: [outC, inC, 3, 3] };
  return { x: [c.batch, inC, size, size], weight: [outC, inC, 3, 3], bias: [outC] };
}

export type CaseTensors = Record<string, Tensor>;

/** Uploads `data[name]` (or uninitialised tensors) for each operand. */
export function caseTensors(rt: Runtime, c: KernelCase, data: Record<string, Float32Array> = {}): CaseTensors {
  return Object.fromEntries(Object.entries(operandShapes(c)).map(([name, shape]) => [name, rt.createTensor(shape, data[name], 'f32', `${c.label} ${name}`)]));
}

const PAD1: [number, number, number, number] = [1, 1, 1, 1];

/** Records the case with the library's op; returns its output. */
export function recordCase(rec: Recorder, c: KernelCase, t: CaseTensors): Tensor {
  if (c.op === 'matmul') return matmul(rec, t.a!, t.b!, null);
  const conv = c.conv!;
  if (c.op === 'conv2dTranspose') return conv2dBackwardInput(rec, t.dy!, t.weight!, [c.batch, conv.inC, conv.size, conv.size], { padding: PAD1 });
  return conv2d(rec, t.x!, t.weight!, t.bias!, { padding: PAD1, activation: 'relu' });
}
