// A float64 CPU ConvNet and DeconvNet written from the definitions (Zeiler &
// Fergus 2014 for unpool/rectify/filter, Springenberg 2015 for guided,
// plain calculus for the gradient). Deliberately naive: scatter loops where
// the GPU gathers, so the two are independent.
import { activationRef, activationDerivative, type RefAttrs } from './activation.js';
import { batchNormRef, batchNormBackwardRef } from './batchnorm.js';
import { avgPoolRef, avgPoolBackwardRef, type RefGeometry } from './pool.js';
import { padRef, padBackwardRef, padOutShape } from './pad.js';

export type RefLayer =
  | { kind: 'conv'; weight: ArrayLike<number>; bias?: ArrayLike<number>; outC: number; k: number; stride: number; pad: [number, number, number, number]; dilation: number; groups: number; relu: boolean }
  | { kind: 'relu' }
  | { kind: 'maxpool'; k: number; stride: number; pad: [number, number, number, number] }
  | { kind: 'lrn'; size: number; alpha: number; beta: number; bias: number }
  | { kind: 'flatten' }
  | { kind: 'dense'; weight: ArrayLike<number>; bias?: ArrayLike<number>; units: number; relu: boolean }
  | { kind: 'softmax' }
  // Inference batch norm (per channel): y = scale (x - mean) / sqrt(var + eps) + bias.
  | { kind: 'batchnorm'; scale: ArrayLike<number>; bias: ArrayLike<number>; mean: ArrayLike<number>; variance: ArrayLike<number>; epsilon: number }
  | { kind: 'avgpool'; geometry: RefGeometry; countIncludePad: boolean }
  | { kind: 'pad'; pad: [number, number, number, number] }
  // Activations with no DeconvNet rule of their own: every mode takes their gradient g f'(x).
  | { kind: 'act'; act: Parameters<typeof activationDerivative>[0]; attrs?: RefAttrs };

export interface T { data: Float64Array; shape: number[] } // per batch: [N, C, H, W] or [N, F]

interface Saved { input: T; output: T; switches?: Int32Array; preRelu?: T }

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

function conv(x: T, l: Extract<RefLayer, { kind: 'conv' }>): T {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [pt, pl, pb, pr] = l.pad;
  const keff = (l.k - 1) * l.dilation + 1;
  const oh = Math.floor((h + pt + pb - keff) / l.stride) + 1, ow = Math.floor((w + pl + pr - keff) / l.stride) + 1;
  const cg = c / l.groups, mg = l.outC / l.groups;
  const y = new Float64Array(n * l.outC * oh * ow);
  for (let b = 0; b < n; b++) for (let m = 0; m < l.outC; m++) {
    const g = Math.floor(m / mg);
    for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
      let s = l.bias ? l.bias[m]! : 0;
      for (let ci = 0; ci < cg; ci++) for (let ky = 0; ky < l.k; ky++) for (let kx = 0; kx < l.k; kx++) {
        const iy = oy * l.stride - pt + ky * l.dilation, ix = ox * l.stride - pl + kx * l.dilation;
        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
        s += x.data[((b * c + g * cg + ci) * h + iy) * w + ix]! * l.weight[((m * cg + ci) * l.k + ky) * l.k + kx]!;
      }
      y[((b * l.outC + m) * oh + oy) * ow + ox] = s;
    }
  }
  return { data: y, shape: [n, l.outC, oh, ow] };
}

/** The transposed convolution written as the scatter that undoes conv's gather. */
function convTransposeScatter(gy: T, l: Extract<RefLayer, { kind: 'conv' }>, xShape: number[]): T {
  const [n, c, h, w] = xShape as [number, number, number, number];
  const [, , oh, ow] = gy.shape as [number, number, number, number];
  const cg = c / l.groups, mg = l.outC / l.groups;
  const dx = new Float64Array(size(xShape));
  for (let b = 0; b < n; b++) for (let m = 0; m < l.outC; m++) {
    const g = Math.floor(m / mg);
    for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
      const v = gy.data[((b * l.outC + m) * oh + oy) * ow + ox]!;
      if (v === 0) continue;
      for (let ci = 0; ci < cg; ci++) for (let ky = 0; ky < l.k; ky++) for (let kx = 0; kx < l.k; kx++) {
        const iy = oy * l.stride - l.pad[0] + ky * l.dilation, ix = ox * l.stride - l.pad[1] + kx * l.dilation;
        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
        dx[((b * c + g * cg + ci) * h + iy) * w + ix] += v * l.weight[((m * cg + ci) * l.k + ky) * l.k + kx]!;
      }
    }
  }
  return { data: dx, shape: [...xShape] };
}

function maxpool(x: T, l: Extract<RefLayer, { kind: 'maxpool' }>): { y: T; switches: Int32Array } {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [pt, pl, pb, pr] = l.pad;
  const oh = Math.floor((h + pt + pb - l.k) / l.stride) + 1, ow = Math.floor((w + pl + pr - l.k) / l.stride) + 1;
  const y = new Float64Array(n * c * oh * ow), sw = new Int32Array(n * c * oh * ow);
  for (let p = 0; p < n * c; p++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
    let best = -Infinity, at = -1;
    for (let ky = 0; ky < l.k; ky++) for (let kx = 0; kx < l.k; kx++) {
      const iy = oy * l.stride - pt + ky, ix = ox * l.stride - pl + kx;
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
      const v = x.data[p * h * w + iy * w + ix]!;
      if (v > best) { best = v; at = iy * w + ix; } // strict: ties keep the first in row-major order
    }
    y[(p * oh + oy) * ow + ox] = best;
    sw[(p * oh + oy) * ow + ox] = at;
  }
  return { y: { data: y, shape: [n, c, oh, ow] }, switches: sw };
}

function unpool(g: T, switches: Int32Array, xShape: number[]): T {
  const [n, c, h, w] = xShape as [number, number, number, number];
  const plane = g.shape[2]! * g.shape[3]!;
  const dx = new Float64Array(size(xShape));
  for (let p = 0; p < n * c; p++) for (let o = 0; o < plane; o++) dx[p * h * w + switches[p * plane + o]!] += g.data[p * plane + o]!;
  return { data: dx, shape: [...xShape] };
}

function lrnForward(x: T, l: Extract<RefLayer, { kind: 'lrn' }>): T {
  const [n, c] = x.shape as [number, number];
  const plane = size(x.shape.slice(2));
  const y = new Float64Array(x.data.length);
  const lo = Math.floor((l.size - 1) / 2), hi = Math.ceil((l.size - 1) / 2);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let p = 0; p < plane; p++) {
    let s = 0;
    for (let k = Math.max(0, ch - lo); k <= Math.min(c - 1, ch + hi); k++) s += x.data[(b * c + k) * plane + p]! ** 2;
    y[(b * c + ch) * plane + p] = x.data[(b * c + ch) * plane + p]! / (l.bias + (l.alpha / l.size) * s) ** l.beta;
  }
  return { data: y, shape: [...x.shape] };
}

function lrnBackward(g: T, x: T, l: Extract<RefLayer, { kind: 'lrn' }>): T {
  // y_c = x_c d_c^-b, d_c = bias + a/n sum_{k in win(c)} x_k^2 ;
  // dy_c/dx_j = [c==j] d_c^-b - 2ab/n x_c x_j d_c^(-b-1) [j in win(c)]
  const [n, c] = x.shape as [number, number];
  const plane = size(x.shape.slice(2));
  const lo = Math.floor((l.size - 1) / 2), hi = Math.ceil((l.size - 1) / 2);
  const dx = new Float64Array(x.data.length);
  for (let b = 0; b < n; b++) for (let p = 0; p < plane; p++) {
    const at = (k: number) => (b * c + k) * plane + p;
    const d = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) {
      let s = 0;
      for (let k = Math.max(0, ch - lo); k <= Math.min(c - 1, ch + hi); k++) s += x.data[at(k)]! ** 2;
      d[ch] = l.bias + (l.alpha / l.size) * s;
    }
    for (let ch = 0; ch < c; ch++) {
      const gc = g.data[at(ch)]!;
      dx[at(ch)] += gc * d[ch]! ** -l.beta;
      for (let j = Math.max(0, ch - lo); j <= Math.min(c - 1, ch + hi); j++) {
        dx[at(j)] -= gc * ((2 * l.alpha * l.beta) / l.size) * x.data[at(ch)]! * x.data[at(j)]! * d[ch]! ** (-l.beta - 1);
      }
    }
  }
  return { data: dx, shape: [...x.shape] };
}

function denseForward(x: T, l: Extract<RefLayer, { kind: 'dense' }>): T {
  const n = x.shape[0]!, f = x.data.length / n;
  const y = new Float64Array(n * l.units);
  for (let b = 0; b < n; b++) for (let u = 0; u < l.units; u++) {
    let s = l.bias ? l.bias[u]! : 0;
    for (let i = 0; i < f; i++) s += l.weight[u * f + i]! * x.data[b * f + i]!;
    y[b * l.units + u] = s;
  }
  return { data: y, shape: [n, l.units] };
}

function reluT(x: T): T { return { data: x.data.map((v) => Math.max(v, 0)), shape: x.shape }; }

/** Rectify per mode, given the pre-activation x of the ReLU. */
function reluBack(g: T, pre: T, mode: Mode): T {
  const d = g.data.map((v, i) => {
    const on = pre.data[i]! > 0;
    return mode === 'deconvnet' ? Math.max(v, 0) : mode === 'guided' ? (on ? Math.max(v, 0) : 0) : on ? v : 0;
  });
  return { data: d, shape: g.shape };
}

export type Mode = 'deconvnet' | 'guided' | 'gradient';

export function refForward(layers: RefLayer[], input: T): Saved[] {
  const saved: Saved[] = [];
  let x = input;
  for (const l of layers) {
    let y: T, switches: Int32Array | undefined, preRelu: T | undefined;
    switch (l.kind) {
      case 'conv': preRelu = conv(x, l); y = l.relu ? reluT(preRelu) : preRelu; break;
      case 'relu': preRelu = x; y = reluT(x); break;
      case 'maxpool': ({ y, switches } = maxpool(x, l)); break;
      case 'lrn': y = lrnForward(x, l); break;
      case 'batchnorm': y = { data: batchNormRef(x.data, x.shape, l), shape: [...x.shape] }; break;
      case 'avgpool': {
        const g = l.geometry;
        y = { data: avgPoolRef(x.data, x.shape, g, l.countIncludePad), shape: [x.shape[0]!, x.shape[1]!, g.outH, g.outW] };
        break;
      }
      case 'pad': y = { data: padRef(x.data, x.shape, l.pad, 'constant'), shape: padOutShape(x.shape, l.pad) }; break;
      case 'act': {
        const c = x.shape[1]!, plane = size(x.shape.slice(2));
        y = { data: activationRef(l.act, x.data, { ...l.attrs, channels: c, plane }), shape: [...x.shape] };
        break;
      }
      case 'flatten': y = { data: x.data, shape: [x.shape[0]!, x.data.length / x.shape[0]!] }; break;
      case 'dense': preRelu = denseForward(x, l); y = l.relu ? reluT(preRelu) : preRelu; break;
      case 'softmax': {
        const n = x.shape[0]!, f = x.data.length / n, d = new Float64Array(x.data.length);
        for (let b = 0; b < n; b++) {
          let m = -Infinity, s = 0;
          for (let i = 0; i < f; i++) m = Math.max(m, x.data[b * f + i]!);
          for (let i = 0; i < f; i++) s += Math.exp(x.data[b * f + i]! - m);
          for (let i = 0; i < f; i++) d[b * f + i] = Math.exp(x.data[b * f + i]! - m) / s;
        }
        y = { data: d, shape: [...x.shape] };
        break;
      }
    }
    saved.push({ input: x, output: y, switches, preRelu });
    x = y;
  }
  return saved;
}

/** Seeds layer `top` (zero except the chosen activations) and runs the DeconvNet down to the input. */
export function refProject(layers: RefLayer[], saved: Saved[], top: number, channel: number,
  position: 'max' | 'all' | { y: number; x: number }, mode: Mode, seedOne = false): T {
  const act = saved[top]!.output;
  const [n, c] = act.shape as [number, number];
  const plane = size(act.shape.slice(2));
  const seed = new Float64Array(act.data.length);
  for (let b = 0; b < n; b++) {
    const base = (b * c + channel) * plane;
    let chosen: number[];
    if (position === 'all') chosen = [...Array(plane).keys()];
    else if (position === 'max') {
      let best = 0;
      for (let i = 1; i < plane; i++) if (act.data[base + i]! > act.data[base + best]!) best = i;
      chosen = [best];
    } else chosen = [position.y * act.shape[3]! + position.x];
    for (const i of chosen) seed[base + i] = seedOne ? 1 : act.data[base + i]!;
  }
  let g: T = { data: seed, shape: [...act.shape] };
  for (let i = top; i >= 0; i--) {
    const l = layers[i]!, s = saved[i]!;
    switch (l.kind) {
      case 'conv': if (l.relu) g = reluBack(g, s.preRelu!, mode); g = convTransposeScatter(g, l, s.input.shape); break;
      case 'relu': g = reluBack(g, s.preRelu!, mode); break;
      case 'maxpool': g = unpool(g, s.switches!, s.input.shape); break;
      case 'lrn': g = lrnBackward(g, s.input, l); break;
      case 'batchnorm': g = { data: batchNormBackwardRef(g.data, g.shape, l), shape: [...g.shape] }; break;
      case 'avgpool': g = { data: avgPoolBackwardRef(g.data, s.input.shape, l.geometry, l.countIncludePad), shape: [...s.input.shape] }; break;
      case 'pad': g = { data: padBackwardRef(g.data, s.input.shape, l.pad, 'constant'), shape: [...s.input.shape] }; break;
      case 'act': {
        const x = s.input, c = x.shape[1]!, plane = size(x.shape.slice(2));
        g = { data: g.data.map((v, k) => v * activationDerivative(l.act, x.data[k]!, { ...l.attrs, channels: c, plane }, k)), shape: [...g.shape] };
        break;
      }
      case 'flatten': g = { data: g.data, shape: [...s.input.shape] }; break;
      case 'dense': {
        if (l.relu) g = reluBack(g, s.preRelu!, mode);
        const nb = g.shape[0]!, f = s.input.data.length / nb, d = new Float64Array(nb * f);
        for (let b = 0; b < nb; b++) for (let u = 0; u < l.units; u++) for (let k = 0; k < f; k++) d[b * f + k] += g.data[b * l.units + u]! * l.weight[u * f + k]!;
        g = { data: d, shape: [...s.input.shape] };
        break;
      }
      case 'softmax': {
        const y = s.output, nb = y.shape[0]!, f = y.data.length / nb, d = new Float64Array(y.data.length);
        for (let b = 0; b < nb; b++) {
          let dot = 0;
          for (let k = 0; k < f; k++) dot += g.data[b * f + k]! * y.data[b * f + k]!;
          for (let k = 0; k < f; k++) d[b * f + k] = y.data[b * f + k]! * (g.data[b * f + k]! - dot);
        }
        g = { data: d, shape: [...y.shape] };
        break;
      }
    }
  }
  return g;
}

/** Central finite differences in float64 of f(x) = sum of the chosen activations of `top` (positions fixed). */
export function finiteDifferenceGradient(layers: RefLayer[], input: T, top: number, channel: number, flatPositions: number[], eps = 1e-6): Float64Array {
  const grad = new Float64Array(input.data.length);
  const n = input.shape[0]!;
  const perImage = input.data.length / n;
  const f = (x: Float64Array) => {
    const act = refForward(layers, { data: x, shape: input.shape })[top]!.output;
    const c = act.shape[1]!, plane = size(act.shape.slice(2));
    let s = 0;
    for (let b = 0; b < n; b++) s += act.data[(b * c + channel) * plane + flatPositions[b]!]!;
    return s;
  };
  const x = Float64Array.from(input.data);
  for (let i = 0; i < x.length; i++) {
    const keep = x[i]!;
    x[i] = keep + eps; const up = f(x);
    x[i] = keep - eps; const down = f(x);
    x[i] = keep;
    grad[i] = (up - down) / (2 * eps);
  }
  void perImage;
  return grad;
}
