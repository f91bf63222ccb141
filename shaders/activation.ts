import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineParams, flatIndexFn } from './params.js';

// Element-wise activations, forward, and their backward rules. Every backward
// rule reads the forward *output* y (y > 0 exactly where x > 0 for the ReLU
// family), so the forward input need not be kept.
//
// ReLU has the three rules that distinguish the visualisation methods:
//   deconvnet (Zeiler & Fergus 2014): rectify the reconstruction,   relu(g)
//   guided    (Springenberg 2015):    both,                          relu(g) * [y > 0]
//   gradient  (Simonyan 2013):        the true gradient,             g * [y > 0]
// The other activations have no such variants: every mode uses their gradient.

export const WORKGROUP = 256;

export type ActivationKind = 'relu' | 'leaky_relu' | 'elu' | 'sigmoid' | 'tanh' | 'clip' | 'prelu';
export type BackwardRule = 'deconvnet' | 'guided' | 'gradient';

/** `alpha`: leaky_relu slope / elu alpha; `lo`, `hi`: clip bounds; `channels`, `plane`: prelu's slope index. */
export const activationParams = defineParams({
  size: 'u32', alpha: 'f32', lo: 'f32', hi: 'f32', channels: 'u32', plane: 'u32',
});

export function activationForwardShader(kind: ActivationKind): string {
  return wgsl`
${activationParams.struct}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
#if ${kind === 'prelu'}
@group(0) @binding(3) var<storage, read> slope: array<f32>;
#endif
${flatIndexFn(WORKGROUP)}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.size) { return; }
  let v = x[i];
#if ${kind === 'relu'}
  y[i] = max(v, 0.0);
#elif ${kind === 'leaky_relu'}
  y[i] = select(v * p.alpha, v, v >= 0.0);
#elif ${kind === 'elu'}
  y[i] = select(p.alpha * (exp(v) - 1.0), v, v >= 0.0);
#elif ${kind === 'sigmoid'}
  y[i] = 1.0 / (1.0 + exp(-v));
#elif ${kind === 'tanh'}
  y[i] = tanh(v);
#elif ${kind === 'clip'}
  y[i] = clamp(v, p.lo, p.hi);
#elif ${kind === 'prelu'}
  let c = (i / p.plane) % p.channels;
  y[i] = select(v * slope[c], v, v >= 0.0);
#endif
}
`;
}

export function activationBackwardShader(kind: ActivationKind, rule: BackwardRule): string {
  return wgsl`
${activationParams.struct}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
#if ${kind === 'prelu'}
@group(0) @binding(4) var<storage, read> slope: array<f32>;
#endif
${flatIndexFn(WORKGROUP)}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.size) { return; }
  let gi = g[i];
  let yi = y[i];
#if ${kind === 'relu' && rule === 'deconvnet'}
  dx[i] = max(gi, 0.0);
#elif ${kind === 'relu' && rule === 'guided'}
  dx[i] = select(0.0, max(gi, 0.0), yi > 0.0);
#elif ${kind === 'relu'}
  dx[i] = select(0.0, gi, yi > 0.0);
#elif ${kind === 'leaky_relu'}
  dx[i] = select(gi * p.alpha, gi, yi >= 0.0);
#elif ${kind === 'elu'}
  dx[i] = select(gi * (yi + p.alpha), gi, yi >= 0.0);
#elif ${kind === 'sigmoid'}
  dx[i] = gi * yi * (1.0 - yi);
#elif ${kind === 'tanh'}
  dx[i] = gi * (1.0 - yi * yi);
#elif ${kind === 'clip'}
  dx[i] = select(0.0, gi, yi > p.lo && yi < p.hi);
#elif ${kind === 'prelu'}
  let c = (i / p.plane) % p.channels;
  dx[i] = select(gi * slope[c], gi, yi >= 0.0);
#endif
}
`;
}
