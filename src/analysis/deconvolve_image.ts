// Deconvolving an image with one user-set kernel, as the Keras example does
// with a Conv2DTranspose layer: the same kernel for every colour channel
// (depthwise, groups = channels), Keras' 'valid' / 'same' output sizes, and
// the classic image-processing kernels as presets. Runs the library's
// conv2dTranspose op (ONNX ConvTranspose semantics) on the GPU.
import type { Runtime } from '../gpu/runtime.js';
import { conv2dTranspose, type Conv2dTransposeAttrs } from '../ops/conv2d_transpose.js';
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';
import { pair, checkIntPair, type Pair } from '../ops/conv_geometry.js';

/** A 2-D kernel, row-major `height` x `width`, and the bias added to every output value. */
export interface ImageKernel {
  weights: Float32Array | readonly number[];
  height: number;
  width: number;
  bias?: number;
}

export interface DeconvolveOptions {
  stride?: Pair;
  /** Keras Conv2DTranspose padding: 'valid' (out = in*stride + max(k - stride, 0)) or 'same' (out = in*stride). Default 'valid'. */
  padding?: 'valid' | 'same';
}

/** An image or a stack of planes, [channels, height, width]. */
export interface Planes { data: Float32Array; shape: [number, number, number] }

export const KERNEL_PRESETS = ['identity', 'box-blur', 'gaussian-blur', 'sobel-x', 'sobel-y', 'laplacian', 'emboss'] as const;
export type KernelPreset = typeof KERNEL_PRESETS[number];

/** The 3x3 kernels of the image-processing presets; larger sizes embed them at the centre. */
const FIXED_3X3: Partial<Record<KernelPreset, number[]>> = {
  'sobel-x': [-1, 0, 1, -2, 0, 2, -1, 0, 1],
  'sobel-y': [-1, -2, -1, 0, 0, 0, 1, 2, 1],
  laplacian: [0, 1, 0, 1, -4, 1, 0, 1, 0],
  emboss: [-2, -1, 0, -1, 1, 1, 0, 1, 2],
};

/**
 * Keras' Conv2DTranspose output length along one axis (no output_padding, dilation 1):
 * 'valid': in*stride + max(k - stride, 0); 'same': in*stride.
 */
export function kerasTransposeLength(input: number, kernel: number, stride: number, padding: 'valid' | 'same'): number {
  return padding === 'same' ? input * stride : input * stride + Math.max(kernel - stride, 0);
}

/**
 * The centre tap of a `size`-wide kernel: where an identity kernel puts its 1
 * so that 'same' at stride 1 returns the image unchanged (Keras crops
 * floor((k - 1) / 2) leading positions of the full output).
 */
export function kernelCentre(size: number): number {
  return Math.floor((size - 1) / 2);
}

/** A preset as a `size` x `size` kernel (bias 0). Sobel, Laplacian and emboss need size >= 3. */
export function kernelPreset(name: KernelPreset, size: number): ImageKernel {
  if (!Number.isInteger(size) || size < 1 || size > 15) throw new OutOfRangeError(`kernelPreset: size ${size} must be an integer from 1 to 15`);
  if (!KERNEL_PRESETS.includes(name)) throw new OutOfRangeError(`kernelPreset: unknown preset '${String(name)}' (one of ${KERNEL_PRESETS.join(', ')})`);
  const weights = new Float32Array(size * size);
  const c = kernelCentre(size);
  if (name === 'identity') {
    weights[c * size + c] = 1;
  } else if (name === 'box-blur') {
    weights.fill(1 / (size * size));
  } else if (name === 'gaussian-blur') {
    // Binomial coefficients: the discrete Gaussian of variance size/4 - 1/4.
    const row = [1];
    for (let i = 1; i < size; i++) row.push((row[i - 1]! * (size - i)) / i);
    const total = row.reduce((a, b) => a + b, 0) ** 2;
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) weights[y * size + x] = (row[y]! * row[x]!) / total;
  } else {
    if (size < 3) throw new OutOfRangeError(`kernelPreset: '${name}' is a 3x3 kernel; size ${size} is too small`);
    const k3 = FIXED_3X3[name]!;
    for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) weights[(c - 1 + y) * size + (c - 1 + x)] = k3[y * 3 + x]!;
  }
  return { weights, height: size, width: size, bias: 0 };
}

function checkKernel(kernel: ImageKernel): void {
  const { height, width, weights } = kernel;
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new OutOfRangeError(`deconvolveImage: kernel size ${height}x${width} must be positive integers`);
  }
  if (weights.length !== height * width) {
    throw new ShapeError(`deconvolveImage: kernel has ${weights.length} weights, a ${height}x${width} kernel needs ${height * width}`);
  }
  const bad = Array.from(weights).findIndex((w) => !Number.isFinite(w));
  if (bad >= 0) throw new OutOfRangeError(`deconvolveImage: kernel weight ${bad} is ${weights[bad]}; weights must be finite`);
  if (kernel.bias !== undefined && !Number.isFinite(kernel.bias)) throw new OutOfRangeError(`deconvolveImage: bias ${kernel.bias} must be finite`);
}

/** The depthwise ConvTranspose weight [channels, 1, height, width]: the kernel once per channel. */
export function depthwiseTransposeWeights(kernel: ImageKernel, channels: number): Float32Array {
  checkKernel(kernel);
  const per = kernel.height * kernel.width;
  const out = new Float32Array(channels * per);
  for (let c = 0; c < channels; c++) out.set(kernel.weights, c * per);
  return out;
}

/** The conv2dTranspose attributes that give Keras' Conv2DTranspose output (see kerasTransposeLength). */
export function kerasTransposeAttrs(kernel: { height: number; width: number }, channels: number, options: DeconvolveOptions = {}): Conv2dTransposeAttrs {
  const stride = pair(options.stride, 1);
  checkIntPair('deconvolveImage', 'stride', stride, 1);
  const padding = options.padding ?? 'valid';
  if (padding !== 'valid' && padding !== 'same') throw new OutOfRangeError(`deconvolveImage: padding '${String(padding)}' must be 'valid' or 'same'`);
  if (padding === 'same') return { stride, padding: 'same', groups: channels };
  // Keras 'valid' with a kernel smaller than the stride pads the end up to in*stride.
  const outputPadding: [number, number] = [Math.max(stride[0] - kernel.height, 0), Math.max(stride[1] - kernel.width, 0)];
  return { stride, padding: 'valid', outputPadding, groups: channels };
}

/**
 * Deconvolves each channel of `image` [C, H, W] with `kernel` (a Keras
 * Conv2DTranspose with C groups, every group the same kernel and bias) and
 * reads the result back, [C, OH, OW] with OH/OW from kerasTransposeLength.
 * One submit; the GPU buffers are released before it returns.
 */
export async function deconvolveImage(runtime: Runtime, image: Planes, kernel: ImageKernel, options: DeconvolveOptions = {}): Promise<Planes> {
  const [channels, h, w] = image.shape;
  if (image.shape.length !== 3 || !image.shape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new ShapeError(`deconvolveImage: image shape [${image.shape}] must be [channels, height, width]`);
  }
  if (image.data.length !== channels * h * w) {
    throw new ShapeError(`deconvolveImage: image has ${image.data.length} values, shape [${image.shape}] needs ${channels * h * w}`);
  }
  const weights = depthwiseTransposeWeights(kernel, channels);
  const attrs = kerasTransposeAttrs(kernel, channels, options);
  const x = runtime.createTensor([1, channels, h, w], image.data, 'f32', 'deconvolveImage input');
  const wt = runtime.createTensor([channels, 1, kernel.height, kernel.width], weights, 'f32', 'deconvolveImage kernel');
  const b = runtime.createTensor([channels], new Float32Array(channels).fill(kernel.bias ?? 0), 'f32', 'deconvolveImage bias');
  try {
    const y = await runtime.run('deconvolveImage', (rec) => conv2dTranspose(rec, x, wt, b, attrs));
    try {
      return { data: await y.read(), shape: [channels, y.shape[2]!, y.shape[3]!] };
    } finally {
      y.release();
    }
  } finally {
    for (const t of [x, wt, b]) t.release();
  }
}
