import { defineParams } from './params.js';
import { defineKernel, dispatch1d, kernelHeader, read, readWrite, rowMain, type KernelProgram } from './kernel.js';

// Softmax / log-softmax along one axis of a tensor seen as [outer, n, inner]:
// one workgroup per (outer, inner) row, whose n elements lie `inner` apart.
// Invocations stride over the row (so n is unbounded) and combine their
// partial max / sum in a workgroup-memory tree. Subtracting the row max before
// exp keeps every exponent <= 0, so large logits cannot overflow.
//
// The workgroup size follows n (32 .. 256): a small row, e.g. softmax over a
// handful of channels, should not leave 250 invocations idle.
//
// Rows are numbered linearly and the grid folds into y like dispatch1d.

export const WORKGROUP_SIZES = [32, 64, 128, 256] as const;
export type SoftmaxWorkgroup = (typeof WORKGROUP_SIZES)[number];

export function softmaxWorkgroup(n: number): SoftmaxWorkgroup {
  return WORKGROUP_SIZES.find((w) => w >= n) ?? 256;
}

export const softmaxParams = defineParams({ rows: 'u32', n: 'u32', inner: 'u32' });

export interface SoftmaxVariant {
  log: boolean;
  workgroup: SoftmaxWorkgroup;
}

export type SoftmaxDirection = 'forward' | 'backward';

/**
 * WG, a shared `partial` array and workgroupMax / workgroupSum(li, v): the
 * fixed-order tree of a workgroup's values (every invocation gets the result).
 */
export function workgroupTreeFns(workgroup: number): string {
  return `
const WG = ${workgroup}u;
var<workgroup> partial: array<f32, ${workgroup}>;

fn workgroupMax(li: u32, v: f32) -> f32 {
  partial[li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { partial[li] = max(partial[li], partial[li + s]); }
    workgroupBarrier();
  }
  let r = partial[0];
  workgroupBarrier();
  return r;
}

fn workgroupSum(li: u32, v: f32) -> f32 {
  partial[li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { partial[li] += partial[li + s]; }
    workgroupBarrier();
  }
  let r = partial[0];
  workgroupBarrier();
  return r;
}
`;
}

function rowPreamble(workgroup: number): string {
  return `${workgroupTreeFns(workgroup)}
// Index of element 0 of a row; element j is at rowStart + j * p.inner.
fn rowStart(row: u32) -> u32 {
  return (row / p.inner) * p.n * p.inner + row % p.inner;
}
`;
}

function forwardBody(log: boolean): string {
  const write = log
    ? `  let shift = m + log(s);
  for (var j = li; j < p.n; j += WG) {
    let i = start + j * p.inner;
    y[i] = x[i] - shift;
  }`
    : `  let inv = 1.0 / s;
  for (var j = li; j < p.n; j += WG) {
    let i = start + j * p.inner;
    y[i] = exp(x[i] - m) * inv;
  }`;
  return `  let start = rowStart(row);

  var m = -3.4028234e38;
  for (var j = li; j < p.n; j += WG) { m = max(m, x[start + j * p.inner]); }
  m = workgroupMax(li, m);

  var s = 0.0;
  for (var j = li; j < p.n; j += WG) { s += exp(x[start + j * p.inner] - m); }
  s = workgroupSum(li, s);

${write}`;
}

// Backward from the forward output y:
//   softmax:     dx = y * (g - sum(g * y))
//   log-softmax: dx = g - exp(y) * sum(g)
function backwardBody(log: boolean): string {
  return `  let start = rowStart(row);

  var s = 0.0;
  for (var j = li; j < p.n; j += WG) {
    let i = start + j * p.inner;
    ${log ? 's += g[i];' : 's += g[i] * y[i];'}
  }
  s = workgroupSum(li, s);

  for (var j = li; j < p.n; j += WG) {
    let i = start + j * p.inner;
    ${log ? 'dx[i] = g[i] - exp(y[i]) * s;' : 'dx[i] = y[i] * (g[i] - s);'}
  }`;
}

const softmaxKernel = defineKernel('softmax', ({ direction, log, workgroup }: SoftmaxVariant & { direction: SoftmaxDirection }) => {
  const forward = direction === 'forward';
  const bindings = forward ? [read('x'), readWrite('y')] : [read('g'), read('y'), readWrite('dx')];
  return `
${kernelHeader(softmaxParams, bindings)}
${rowPreamble(workgroup)}
${rowMain(workgroup, 'p.rows', forward ? forwardBody(log) : backwardBody(log))}
`;
});

/** Buffers [x, y] (forward) or [g, y, dx] (backward, y the forward output). One workgroup per row. */
export function softmaxProgram(direction: SoftmaxDirection, variant: SoftmaxVariant, values: Parameters<typeof softmaxParams.pack>[0], label: string): KernelProgram {
  return softmaxKernel.program({ direction, ...variant }, softmaxParams.pack(values), dispatch1d(values.rows, 1), label);
}
