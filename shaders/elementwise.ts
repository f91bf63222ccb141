import { defineParams } from './params.js';
import { defineKernel, flatMain, kernelHeader, read, readWrite } from './kernel.js';

// Binary element-wise ops with numpy (ONNX multidirectional) broadcasting,
// and the reduction that undoes a broadcast in the backward pass.
//
// Shapes are left-padded with 1s to MAX_RANK and passed as uniforms, not baked
// into the code, so one pipeline per op serves every pair of shapes. An
// operand's stride is 0 along an axis it broadcasts over (its size there is
// 1), so decoding the output index into coordinates and dotting them with
// each operand's strides finds the element it reads.
//
// `scale` multiplies the result; the backward rules use it for the minus
// signs of sub and div without a separate negation pass.
//
// reduceToShape sums g over the axes where the target shape is 1 and g is
// not: one invocation per output element walks the `count` positions of those
// axes in a fixed order (deterministic, no float atomics).

export const WORKGROUP = 256;
export const MAX_RANK = 6;

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';

/** `name0 .. name5` as u32 fields: one per padded axis, axis 5 the innermost. */
export function axisFields<P extends string>(prefix: P): Record<`${P}${0 | 1 | 2 | 3 | 4 | 5}`, 'u32'> {
  const out: Record<string, 'u32'> = {};
  for (let k = 0; k < MAX_RANK; k++) out[`${prefix}${k}`] = 'u32';
  return out as Record<`${P}${0 | 1 | 2 | 3 | 4 | 5}`, 'u32'>;
}

/**
 * WGSL statements that decode `index` over the axis sizes `p.<dims>k` and
 * accumulate `coord * p.<strides>k` into each `var` named in `targets`.
 */
export function decodeIndex(index: string, dims: string, targets: ReadonlyArray<[variable: string, strides: string]>): string {
  const lines = [`var rem_${dims} = ${index};`];
  for (let k = MAX_RANK - 1; k >= 0; k--) {
    lines.push(`{ let c = rem_${dims} % p.${dims}${k}; rem_${dims} = rem_${dims} / p.${dims}${k};`
      + targets.map(([v, s]) => ` ${v} += c * p.${s}${k};`).join('') + ' }');
  }
  return lines.join('\n  ');
}

export const binaryParams = defineParams({
  total: 'u32', scale: 'f32', ...axisFields('d'), ...axisFields('sa'), ...axisFields('sb'),
});

const EXPR: Record<BinaryOp, string> = { add: 'va + vb', sub: 'va - vb', mul: 'va * vb', div: 'va / vb' };

/** `same`: both operands have the output's shape, so no index arithmetic. */
export function binaryShader(op: BinaryOp, same: boolean): string {
  const operands = same
    ? `  let va = a[i];
  let vb = b[i];`
    : `  var ia = 0u;
  var ib = 0u;
  ${decodeIndex('i', 'd', [['ia', 'sa'], ['ib', 'sb']])}
  let va = a[ia];
  let vb = b[ib];`;
  return `
${kernelHeader(binaryParams, [read('a'), read('b'), readWrite('y')])}
${flatMain(WORKGROUP, 'p.total', `${operands}
  y[i] = p.scale * (${EXPR[op]});`)}
`;
}

/** `o`: the target shape padded to g's axes; `r`: g's size on the reduced axes, 1 elsewhere; `s`: g's strides. */
export const reduceParams = defineParams({
  total: 'u32', count: 'u32', scale: 'f32', ...axisFields('o'), ...axisFields('r'), ...axisFields('s'),
});

export function reduceToShapeShader(): string {
  return `
${kernelHeader(reduceParams, [read('g'), readWrite('out')])}
${flatMain(WORKGROUP, 'p.total', `  var base = 0u;
  ${decodeIndex('i', 'o', [['base', 's']])}
  var acc = 0.0;
  for (var j = 0u; j < p.count; j++) {
    var at = base;
    ${decodeIndex('j', 'r', [['at', 's']])}
    acc += g[at];
  }
  out[i] = p.scale * acc;`)}
`;
}

/** Program factory (shaders/kernel.ts): the pipeline key is derived from the spec. */
export const binaryKernel = defineKernel('binary', (s: { op: BinaryOp; same: boolean }) => binaryShader(s.op, s.same));

/** Program factory (shaders/kernel.ts). */
export const reduceToShapeKernel = defineKernel('reduce-to-shape', () => reduceToShapeShader());
