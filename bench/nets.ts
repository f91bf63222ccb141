// The benchmark's networks and weights, independent of any implementation:
// deterministic random weights in our layouts (NCHW activations, OIHW conv
// kernels, Dense [units, inFeatures] with inputs flattened in C,H,W order),
// converted once on the CPU for TF.js (NHWC, HWIO, Dense [inFeatures, units]
// with inputs flattened in H,W,C order) so every implementation computes the
// same function from the same numbers.

/** xorshift32: the same stream in every JavaScript engine. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
}

export function uniform(count: number, lo: number, hi: number, seed: number): Float32Array {
  const u = rng(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = lo + (hi - lo) * u();
  return out;
}

export function normal(count: number, std: number, seed: number): Float32Array {
  const u = rng(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = std * Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return out;
}

export interface ConvWeights {
  name: string;
  inC: number;
  outC: number;
  k: number;
  /** [outC, inC, k, k] */
  kernel: Float32Array;
  /** [outC] */
  bias: Float32Array;
}

/** He-normal kernel (keeps activations O(1) through 13 ReLU convs) and a small random bias. */
export function convWeights(name: string, inC: number, outC: number, k: number, seed: number, bias: [number, number] = [-0.05, 0.05]): ConvWeights {
  const count = outC * inC * k * k;
  return {
    name, inC, outC, k,
    kernel: normal(count, Math.sqrt(2 / (inC * k * k)), seed),
    bias: uniform(outC, bias[0], bias[1], seed + 7777),
  };
}

/** VGG16's 13 3x3 convolutions (padding 1, fused ReLU), each block ending with a 2x2/2 max pool. */
export const VGG16_BLOCKS = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]];

export type VggStep = { kind: 'conv'; w: ConvWeights } | { kind: 'pool'; name: string };

export interface DenseWeights {
  /** [units, features], features in the C,H,W order of the flattened input */
  kernel: Float32Array;
  bias: Float32Array;
  units: number;
  features: number;
}

export interface Vgg16 {
  size: number;
  steps: VggStep[];
  /** Output of the conv stack, [512, s, s] */
  outShape: [number, number, number];
  /** Optional classifier head on the flattened pool5: Dense(units) + Softmax. */
  head: DenseWeights | null;
}

export function vgg16(size: number, seed: number, headUnits = 0, bias: [number, number] = [-0.05, 0.05]): Vgg16 {
  const steps: VggStep[] = [];
  let inC = 3, s = size;
  VGG16_BLOCKS.forEach((block, b) => {
    block.forEach((outC, i) => {
      steps.push({ kind: 'conv', w: convWeights(`conv${b + 1}_${i + 1}`, inC, outC, 3, seed + 100 * b + i, bias) });
      inC = outC;
    });
    steps.push({ kind: 'pool', name: `pool${b + 1}` });
    s = Math.floor(s / 2);
  });
  if (s < 1) throw new Error(`vgg16: input ${size} is too small for five 2x2 poolings`);
  const features = inC * s * s;
  const head = headUnits > 0
    ? { kernel: normal(headUnits * features, Math.sqrt(1 / features), seed + 999), bias: uniform(headUnits, -0.05, 0.05, seed + 998), units: headUnits, features }
    : null;
  return { size, steps, outShape: [inC, s, s], head };
}

/** Multiply-adds x 2 of a stride-1 'same' convolution. */
export function convFlops(n: number, inC: number, outC: number, k: number, h: number, w: number): number {
  return 2 * n * outC * inC * k * k * h * w;
}

/** FLOPs of the 13 convolutions of a VGG16 forward on `n` images (pools and head are negligible). */
export function vggForwardFlops(net: Vgg16, n = 1): number {
  let s = net.size, flops = 0;
  for (const step of net.steps) {
    if (step.kind === 'conv') flops += convFlops(n, step.w.inC, step.w.outC, 3, s, s);
    else s = Math.floor(s / 2);
  }
  if (net.head) flops += 2 * n * net.head.units * net.head.features;
  return flops;
}

// ---- layout conversions (CPU, once at set-up) ------------------------------

/** [O, I, kh, kw] -> [kh, kw, I, O] */
export function oihwToHwio(w: Float32Array, O: number, I: number, kh: number, kw: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
    out[((y * kw + x) * I + i) * O + o] = w[((o * I + i) * kh + y) * kw + x]!;
  }
  return out;
}

/** [N, C, H, W] -> [N, H, W, C] */
export function nchwToNhwc(a: Float32Array, N: number, C: number, H: number, W: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) {
    out[(n * H * W + p) * C + c] = a[(n * C + c) * H * W + p]!;
  }
  return out;
}

/** [N, H, W, C] -> [N, C, H, W] */
export function nhwcToNchw(a: Float32Array, N: number, H: number, W: number, C: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) {
    out[(n * C + c) * H * W + p] = a[(n * H * W + p) * C + c]!;
  }
  return out;
}

/**
 * Dense kernel [units, C*H*W] (inputs flattened C,H,W, our NCHW Flatten) ->
 * [H*W*C, units] (inputs flattened H,W,C, TF.js's NHWC reshape), so both
 * heads compute the same sums.
 */
export function denseToTf(kernel: Float32Array, units: number, C: number, H: number, W: number): Float32Array {
  const out = new Float32Array(kernel.length);
  for (let u = 0; u < units; u++) for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) {
    out[(p * C + c) * units + u] = kernel[u * C * H * W + c * H * W + p]!;
  }
  return out;
}

/** [N, H, W, C] mirrored in H and W (its own inverse). Also flips HWIO kernels (N = 1, C = I * O). */
export function flipHW(a: Float32Array, N: number, H: number, W: number, C: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let n = 0; n < N; n++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const src = ((n * H + y) * W + x) * C, dst = ((n * H + (H - 1 - y)) * W + (W - 1 - x)) * C;
    out.set(a.subarray(src, src + C), dst);
  }
  return out;
}

/** [rows, cols] -> [cols, rows] */
export function transpose2d(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

/** ||a - b|| / ||b||: how far two implementations' outputs are apart. */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.NaN;
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    num += d * d;
    den += b[i]! * b[i]!;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

/** Occlusion grid of rows x rows positions on a size x size image: stride floor(size / (rows + 1)), square size - (rows - 1) * stride (7 at 112: square 28, stride 14). */
export function occlusionGrid(size: number, rows: number): { square: number; stride: number; rows: number } {
  const stride = Math.max(1, Math.floor(size / (rows + 1)));
  const square = size - (rows - 1) * stride;
  return { square, stride, rows: Math.floor((size - square) / stride) + 1 };
}
