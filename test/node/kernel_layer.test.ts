// The kernel layer (shaders/kernel.ts): pipeline keys derived from the spec
// that generates the WGSL, so two programs share a key exactly when they
// share their code; binding declarations and the 1-D prologue written once.
import { describe, expect, it } from 'vitest';
import { definedKernels, defineKernel, flatMain, kernelHeader, kernelKey, read, readWrite } from '../../shaders/kernel.js';
import { defineParams } from '../../shaders/params.js';
import { conv2dDirectProgram, conv2dTiledProgram, conv2dVec4Program, smallTiling, type ConvProblem } from '../../shaders/conv2d.js';
import { winogradInputProgram, winogradOutputProgram, winogradWeightProgram } from '../../shaders/winograd.js';
import { transposeProgram } from '../../shaders/transpose.js';
import { adamProgram, sgdProgram } from '../../shaders/optimizer.js';
import { KERNEL_VARIANTS, VARIANT_TABLE, isVariant } from '../../src/gpu/tuning.js';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { KernelProgram } from '../../shaders/kernel.js';
import type { ParamsLayout } from '../../shaders/params.js';
import { unpool2dProgram } from '../../shaders/unpool2d.js';
import { affineWarpProgram } from '../../shaders/affine_warp.js';
import { channelAffineProgram } from '../../shaders/channel_affine.js';
import { axisCopyProgram } from '../../shaders/concat.js';
import { channelSumProgram } from '../../shaders/channel_sum.js';
import { softmaxProgram, WORKGROUP_SIZES } from '../../shaders/softmax.js';
import { crossEntropyReduceProgram, crossEntropyRowProgram, ROW_WORKGROUPS } from '../../shaders/cross_entropy.js';
import { lrnProgram } from '../../shaders/lrn.js';
import { sliceProgram } from '../../shaders/slice.js';
import { reduceRowsProgram, reduceRowsParams } from '../../shaders/reduce_rows.js';
import { topkMergeProgram } from '../../shaders/topk_merge.js';
import { resizeProgram } from '../../shaders/resize.js';
import { occludeProgram } from '../../shaders/occlude.js';
import { imageStatsProgram } from '../../shaders/image_stats.js';
import { MATMUL_TILES, matmulProgram, matmulParams } from '../../shaders/matmul.js';
import { conv2dTransposeDirectProgram, conv2dTransposeTiledProgram, interleaveKernel, phaseWeightKernel } from '../../shaders/conv2d_transpose.js';
import {
  chooseWeightGradDirectBlock, chooseWeightGradTiling, weightGradDirectProgram, weightGradReduceProgram, weightGradTiledProgram,
} from '../../shaders/conv2d_weight_grad.js';
import { imageInputPipeline } from '../../shaders/image_input.js';
import { activationBackwardProgram, activationProgram } from '../../shaders/activation.js';
import { binaryKernel, reduceToShapeKernel } from '../../shaders/elementwise.js';
import { avgPool2dBackwardKernel, avgPool2dKernel } from '../../shaders/avgpool2d.js';
import { maxPool2dKernel } from '../../shaders/maxpool2d.js';
import { pad2dBackwardKernel, pad2dKernel } from '../../shaders/pad2d.js';
import { sumNKernel } from '../../shaders/sum_n.js';
import { selectSeedKernel } from '../../shaders/select_seed.js';
import { channelMaxKernel } from '../../shaders/channel_max.js';
import { cropPasteProgram } from '../../shaders/crop_paste.js';
import { fillKernel } from '../../shaders/fill.js';
import { GEMM_TILES, gemmHalfPackKernel, gemmKernel, gemmReduceKernel, type GemmSpec } from '../../shaders/gemm.js';

/** The GEMM core over each flag: tiles, operand layouts, epilogues (pooling included), the f16 forms; the reduce; the f16 copy. */
function gemmPrograms(buf: ArrayBuffer, one: [number, number, number]): KernelProgram[] {
  const final = (bias: boolean, relu: boolean, accumulate = false) => ({ kind: 'final' as const, bias, relu, accumulate });
  const specs: GemmSpec[] = (['gemm128', 'gemm64'] as const).flatMap((t) => {
    const tile = GEMM_TILES[t];
    const mm = (transposeA: boolean, transposeB: boolean) => ({ kind: 'matmul' as const, transposeA, transposeB });
    return [
      { tile, operands: mm(false, false), epilogue: final(false, false) },
      { tile, operands: mm(true, false), epilogue: final(true, false) },
      { tile, operands: mm(false, true), epilogue: final(true, true) },
      { tile, operands: mm(false, true), epilogue: final(false, false, true) },
      { tile, operands: mm(false, true), epilogue: { kind: 'partial' } },
      { tile, operands: mm(false, true), epilogue: final(true, true), half: { operand: 'b', form: 'packed' } },
      { tile, operands: mm(false, true), epilogue: final(true, true), half: { operand: 'b', form: 'native' } },
      { tile, operands: mm(false, false), epilogue: final(true, true), half: { operand: 'a', form: 'packed' } },
      { tile, operands: { kind: 'conv' }, epilogue: final(true, true) },
      { tile, operands: { kind: 'conv' }, epilogue: { ...final(true, true), pool: true } },
      { tile, operands: { kind: 'conv' }, epilogue: { kind: 'partial' }, half: { operand: 'a', form: 'packed' } },
      { tile, operands: { kind: 'conv' }, epilogue: final(false, true), half: { operand: 'a', form: 'native' } },
    ];
  });
  return [
    ...specs.map((spec) => gemmKernel.program(spec, buf, one)),
    ...[false, true].flatMap((subgroups) => [false, true].map((bias) => gemmReduceKernel.program({ reduce: true, bias, relu: !bias, accumulate: false, subgroups }, buf, one))),
    gemmHalfPackKernel.program(undefined, buf, one),
  ];
}

const problem = (over: Partial<ConvProblem> = {}): ConvProblem => ({
  batch: 1, groups: 1, inC: 8, inH: 9, inW: 7, outC: 12, outH: 9, outW: 7, kH: 3, kW: 3,
  stride: [1, 1], dilation: [1, 1], padT: 1, padL: 1, cinG: 8, ...over,
});

describe('kernelKey', () => {
  it('is the same for the same spec written in another key order, and leaves undefined fields out', () => {
    expect(kernelKey('k', { b: 1, a: { y: true, x: [1, 2] } })).toBe(kernelKey('k', { a: { x: [1, 2], y: true }, b: 1, c: undefined }));
    expect(kernelKey('k', undefined)).toBe('k');
  });

  it('differs when any value differs, however deep', () => {
    const keys = [
      { a: 1 }, { a: 2 }, { a: '1' }, { a: true }, { a: [1] }, { a: { b: 1 } }, { a: { b: 2 } }, { a: 1, b: false },
    ].map((s) => kernelKey('k', s));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('refuses what is not plain data', () => {
    expect(() => kernelKey('k', { f: () => 1 })).toThrow(/a function cannot be part of a spec/);
  });
});

describe('program factories', () => {
  // Every program of the converted modules over specs that differ in each flag: the key must determine the WGSL.
  const programs = [
    ...[false, true].flatMap((bias) => [false, true].flatMap((relu) => [
      conv2dTiledProgram(problem(), { bias, relu }),
      conv2dTiledProgram(problem(), { bias, relu }, smallTiling(12)),
      conv2dDirectProgram(problem(), { bias, relu }, undefined, 'oihw'),
      conv2dDirectProgram(problem(), { bias, relu }, { rP: 16, rM: 12 }, 'ihwo'),
      conv2dDirectProgram(problem({ batch: 64, inH: 64, inW: 64, outH: 64, outW: 64 }), { bias, relu }, undefined, 'oihw'),
      conv2dVec4Program(problem(), { bias, relu }),
      conv2dVec4Program(problem({ outC: 10 }), { bias, relu }),
      conv2dVec4Program(problem({ batch: 4, inH: 64, inW: 64, outH: 64, outW: 64 }), { bias, relu }),
      ...([2, 4] as const).map((tile) => winogradOutputProgram({ tile, bias, relu }, { outC: 4, outH: 4, outW: 4, tilesW: 2, tiles: 4, total: 16 })),
    ])),
    ...([2, 4] as const).flatMap((tile) => [
      winogradWeightProgram(tile, { outC: 4, inC: 3, transposed: 0, total: 12 }),
      winogradInputProgram(tile, { inC: 3, inH: 4, inW: 4, tilesW: 2, tiles: 4, padT: 1, padL: 1, total: 12 }),
    ]),
    transposeProgram({ total: 6, d0: 1, d1: 1, d2: 1, d3: 1, d4: 2, d5: 3, s0: 0, s1: 0, s2: 0, s3: 0, s4: 1, s5: 2 }),
    sgdProgram({ size: 10, momentum: 0.9, weightDecay: 0, nesterov: 0 }, 'sgd'),
    adamProgram({ size: 10, beta1: 0.9, beta2: 0.999, oneMinusBeta1: 0.1, oneMinusBeta2: 0.001, logBeta1: -0.1, logBeta2: -0.001, epsilon: 1e-8, weightDecay: 0, decoupled: 0 }, 'adam'),
  ];

  it('two programs share a pipeline key exactly when they share their WGSL', () => {
    const codeOf = new Map<string, string>();
    const keyOf = new Map<string, string>();
    for (const p of programs) {
      const code = p.shader();
      if (codeOf.has(p.key)) expect(code, `key ${p.key}`).toBe(codeOf.get(p.key));
      if (keyOf.has(code)) expect(p.key).toBe(keyOf.get(code));
      codeOf.set(p.key, code);
      keyOf.set(code, p.key);
    }
    // The specs above differ in bias / relu / tiling / block / layout / tile: most of them are distinct kernels.
    expect(codeOf.size).toBeGreaterThan(30);
  });

  it('declares the bindings in buffer order, the optional ones last, and the uniform at 0', () => {
    const withBias = conv2dVec4Program(problem(), { bias: true, relu: false }).shader();
    const lines = withBias.split('\n').filter((l) => l.includes('@binding'));
    expect(lines.map((l) => l.match(/@binding\((\d+)\)/)![1])).toEqual(['0', '1', '2', '3', '4']);
    expect(lines[4]).toContain('bias');
    const noBias = winogradOutputProgram({ tile: 2, bias: false, relu: false }, { outC: 4, outH: 4, outW: 4, tilesW: 2, tiles: 4, total: 16 }).shader();
    expect(noBias).not.toContain('bias');
  });
});

describe('kernelHeader and flatMain', () => {
  const params = defineParams({ size: 'u32', scale: 'f32' });

  it('writes Params, the uniform and numbered storage bindings, leaving out falsy entries', () => {
    const text = kernelHeader(params, [read('x'), false, readWrite('y', 'array<u32>'), null, read('w', 'array<vec4f>')]);
    expect(text).toBe([
      params.struct,
      '@group(0) @binding(0) var<uniform> p: Params;',
      '@group(0) @binding(1) var<storage, read> x: array<f32>;',
      '@group(0) @binding(2) var<storage, read_write> y: array<u32>;',
      '@group(0) @binding(3) var<storage, read> w: array<vec4f>;',
    ].join('\n'));
  });

  it('guards the flat index and refuses #if in the body (it would reach the compiler unprocessed)', () => {
    const main = flatMain(64, 'p.size', '  y[i] = x[i];');
    expect(main).toContain('@compute @workgroup_size(64)');
    expect(main).toMatch(/let i = flatIndex\(gid, nwg\);\n {2}if \(i >= p\.size\) \{ return; \}\n {2}y\[i\] = x\[i\];/);
    expect(() => flatMain(64, 'p.size', '#if true\n  y[i] = 1.0;\n#endif')).toThrow(/#if/);
  });

  it('every kernel of the shader modules has its own name', () => {
    // Every shader module loaded, so each defineKernel call has run.
    const modules = import.meta.glob('../../shaders/**/*.ts', { eager: true });
    expect(Object.keys(modules).length).toBeGreaterThan(20);
    const seen = new Set<string>();
    const repeated = definedKernels.filter((n) => seen.has(n) || !seen.add(n));
    expect(repeated).toEqual([]);
    expect(definedKernels).toEqual(expect.arrayContaining(['conv2d:tiled', 'conv2d:direct', 'conv2d:vec4', 'winograd-weights', 'transpose', 'sgd']));
  });

  it('a kernel program generates from the spec it is keyed by', () => {
    const k = defineKernel('test-kernel', (spec: { n: number }) => `const N = ${spec.n}u;`);
    const p = k.program({ n: 3 }, new ArrayBuffer(16), [1, 1, 1]);
    expect([p.name, p.key, p.shader()]).toEqual(['test-kernel', 'test-kernel/{n=3}', 'const N = 3u;']);
  });
});

describe('the variant registry', () => {
  it('KERNEL_VARIANTS lists the rows of VARIANT_TABLE in order, and isVariant agrees', () => {
    for (const op of ['conv2d', 'conv2dTranspose', 'matmul'] as const) {
      expect(KERNEL_VARIANTS[op]).toEqual(Object.keys(VARIANT_TABLE[op]));
      for (const v of KERNEL_VARIANTS[op]) expect(isVariant(op, v)).toBe(true);
      expect(isVariant(op, 'no-such-variant')).toBe(false);
      expect(isVariant(op, 'toString')).toBe(false);
    }
  });
});

/** Every field of a Params layout set to `v` (the key never depends on the uniforms, only on the spec). */
function filled<K extends string>(layout: ParamsLayout<K>, v = 3): Record<K, number> {
  return Object.fromEntries(Object.keys(layout.fields).map((k) => [k, v])) as Record<K, number>;
}

/** Equal key <=> equal WGSL over `programs`; returns the number of distinct kernels. */
function expectKeysMatchCode(programs: ReadonlyArray<{ key: string; shader: () => string }>): number {
  const codeOf = new Map<string, string>();
  const keyOf = new Map<string, string>();
  for (const p of programs) {
    const code = p.shader();
    if (codeOf.has(p.key)) expect(code, `key ${p.key}`).toBe(codeOf.get(p.key));
    if (keyOf.has(code)) expect(p.key, `the same WGSL under two keys`).toBe(keyOf.get(code));
    codeOf.set(p.key, code);
    keyOf.set(code, p.key);
  }
  return codeOf.size;
}

describe('every module on the kernel layer', () => {
  const buf = new ArrayBuffer(16);
  const one: [number, number, number] = [1, 1, 1];
  const bools = [false, true];
  const geometry = problem({ inC: 6, outC: 10, cinG: 6, stride: [2, 2], padT: 1, padL: 1 });
  const programs: Array<{ key: string; shader: () => string }> = [
    ...(['element', 'row'] as const).map((v) => unpool2dProgram(v, { total: 9, H: 3, W: 3, OH: 2, OW: 2, kH: 2, kW: 2, sH: 1, sW: 1, dH: 1, dW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0 })),
    affineWarpProgram({ count: 8, channels: 1, height: 2, width: 4, first: 0, fill: 0 }),
    ...bools.map((b) => channelAffineProgram(b, { size: 8, channels: 2, plane: 4 })),
    ...(['scatter', 'gather'] as const).map((d) => axisCopyProgram(d, { size: 8, inner: 2, len: 2, offset: 1, rows: 4 }, 'copy')),
    ...(['serial', 'tree', 'rows'] as const).map((v) => channelSumProgram(v, { outer: 2, channels: 3, inner: 4, count: 8, chunkLen: 4, chunks: 2 }, 'sum')),
    ...(['forward', 'backward'] as const).flatMap((d) => bools.flatMap((log) => WORKGROUP_SIZES.map((workgroup) =>
      softmaxProgram(d, { log, workgroup }, { rows: 2, n: 3, inner: 1 }, 'softmax')))),
    ...bools.flatMap((grad) => ROW_WORKGROUPS.map((workgroup) => crossEntropyRowProgram({ grad, workgroup }, { rows: 2, classes: 3, gradScale: 0.5 }, 'ce'))),
    crossEntropyReduceProgram({ rows: 2, classes: 3, gradScale: 0 }, 'ce sum'),
    ...bools.flatMap((b) => [lrnProgram(b, buf, 8), sliceProgram(b, buf, 8)]),
    ...(['sum', 'argmax', 'sqdist', 'sign-mismatch'] as const).map((v) => reduceRowsProgram(v, filled(reduceRowsParams), 'rows')),
    topkMergeProgram({ count: 4, k: 2, batch: 3, offset: 0 }),
    ...bools.map((b) => resizeProgram(b, { total: 8, H: 2, W: 2, OH: 4, OW: 4, tapsY: 0, tapsX: 12, rangeY: 24, rangeX: 28 })),
    ...(['grid', 'boxes'] as const).map((v) => occludeProgram(v, { count: 8, channels: 1, height: 2, width: 4, first: 0, cols: 1, stride: 1, size: 1, fill: 0 })),
    ...(['tree', 'direct'] as const).map((v) => imageStatsProgram(v, { rows: 2, length: 4, offset: 0 })),
    ...Object.values(MATMUL_TILES).flatMap((tile) => bools.flatMap((transposeA) => bools.flatMap((bias) => bools.map((accumulate) =>
      matmulProgram({ transposeA, transposeB: !transposeA, bias, relu: bias, accumulate, tile }, filled(matmulParams), 'matmul'))))),
    // The completed spec: an omitted tile / accumulate is the default one, not a kernel of its own.
    matmulProgram({ transposeA: false, transposeB: true, bias: false, relu: false }, filled(matmulParams), 'matmul'),
    matmulProgram({ transposeA: false, transposeB: true, bias: false, relu: false, accumulate: false, tile: MATMUL_TILES.tiled }, filled(matmulParams), 'matmul'),
    ...bools.flatMap((bias) => [
      conv2dTransposeTiledProgram(geometry, bias), conv2dTransposeTiledProgram(geometry, bias, smallTiling(10)),
      conv2dTransposeDirectProgram(geometry, bias, { rP: 4, rM: 4 }), conv2dTransposeDirectProgram(geometry, bias, { rP: 16, rM: 10 }),
    ]),
    phaseWeightKernel.program(undefined, buf, one),
    ...(['phase', 'bias', 'zero'] as const).map((source) => interleaveKernel.program({ source }, buf, one)),
    ...[[4, 9], [64, 576], [1, 9]].flatMap(([coutG, kCols]) => [
      weightGradTiledProgram({ tiling: chooseWeightGradTiling(coutG!, kCols!), params: buf, dispatch: one }, 'dW'),
      weightGradDirectProgram({ block: chooseWeightGradDirectBlock(coutG!, kCols! / (coutG === 64 ? 64 : 1)), params: buf, dispatch: one }, 'dW'),
    ]),
    weightGradReduceProgram({ total: 8, chunks: 2 }, 'dW sum'),
    ...bools.map((external) => imageInputPipeline(external)),
    ...(['relu', 'elu', 'gelu', 'prelu'] as const).flatMap((kind) => [
      activationProgram(kind, buf, 8),
      ...(['deconvnet', 'guided', 'gradient'] as const).map((rule) => activationBackwardProgram(kind, rule, buf, 8)),
    ]),
    ...(['add', 'sub', 'mul', 'div'] as const).flatMap((op) => bools.map((same) => binaryKernel.program({ op, same }, buf, one))),
    reduceToShapeKernel.program(undefined, buf, one),
    ...bools.flatMap((countIncludePad) => [avgPool2dKernel.program({ countIncludePad }, buf, one), avgPool2dBackwardKernel.program({ countIncludePad }, buf, one)]),
    ...(['element', 'row'] as const).map((variant) => maxPool2dKernel.program({ variant }, buf, one)),
    ...(['constant', 'reflect', 'edge'] as const).flatMap((mode) => [pad2dKernel.program({ mode }, buf, one), pad2dBackwardKernel.program({ mode }, buf, one)]),
    ...[2, 3, 5].map((k) => sumNKernel.program({ k }, buf, one)),
    ...(['max', 'at', 'all'] as const).map((position) => selectSeedKernel.program({ position }, buf, one)),
    ...(['wide', 'narrow'] as const).map((variant) => channelMaxKernel.program({ variant }, buf, one)),
    ...bools.map((constant) => cropPasteProgram(constant, buf, 8)),
    fillKernel.program(undefined, buf, one),
    ...gemmPrograms(buf, one),
  ];

  it('two programs share a pipeline key exactly when they share their WGSL', () => {
    // Two matmul rows above are one kernel (the completed default spec); the rest differ in some flag.
    expect(expectKeysMatchCode(programs)).toBeGreaterThan(120);
  });

  it('each kernel the shader modules define is among the programs checked here or in the conv2d/winograd list above', () => {
    import.meta.glob('../../shaders/**/*.ts', { eager: true });
    const checked = new Set([...programs, ...convFamily()].map((p) => p.key.split('/')[0]));
    // The window kernels (test/fusion_projection.test.ts and test/sparse_projection.test.ts cover their specs).
    const elsewhere = (name: string) => name.startsWith('window:') || name === 'test-kernel';
    expect(definedKernels.filter((name) => !checked.has(name) && !elsewhere(name))).toEqual([]);
  });

  it('a launch keeps the label the op gave it and the dispatch its factory computed', () => {
    const p: KernelProgram = channelSumProgram('rows', { outer: 2, channels: 3, inner: 4, count: 8, chunkLen: 4, chunks: 800000 }, 'channelSum (rows)');
    expect(p.name).toBe('channelSum (rows)');
    expect(p.dispatch).toEqual([65535, 2, 1]); // 2 * 3 * 800000 invocations / 64 = 75000 workgroups, folded into y
    expect(softmaxProgram('forward', { log: false, workgroup: 32 }, { rows: 70000, n: 3, inner: 1 }, 's').dispatch).toEqual([65535, 2, 1]);
  });
});

function convFamily(): Array<{ key: string }> {
  return [
    conv2dTiledProgram(problem(), { bias: false, relu: false }),
    conv2dDirectProgram(problem(), { bias: false, relu: false }, undefined, 'oihw'),
    conv2dVec4Program(problem(), { bias: false, relu: false }),
    winogradWeightProgram(2, { outC: 4, inC: 3, transposed: 0, total: 12 }),
    winogradInputProgram(2, { inC: 3, inH: 4, inW: 4, tilesW: 2, tiles: 4, padT: 1, padL: 1, total: 12 }),
    winogradOutputProgram({ tile: 2, bias: false, relu: false }, { outC: 4, outH: 4, outW: 4, tilesW: 2, tiles: 4, total: 16 }),
    transposeProgram({ total: 6, d0: 1, d1: 1, d2: 1, d3: 1, d4: 2, d5: 3, s0: 0, s1: 0, s2: 0, s3: 0, s4: 1, s5: 2 }),
    sgdProgram({ size: 10, momentum: 0.9, weightDecay: 0, nesterov: 0 }, 'sgd'),
    adamProgram({ size: 10, beta1: 0.9, beta2: 0.999, oneMinusBeta1: 0.1, oneMinusBeta2: 0.001, logBeta1: -0.1, logBeta2: -0.001, epsilon: 1e-8, weightDecay: 0, decoupled: 0 }, 'adam'),
  ];
}

// ---- no hand-written pipeline keys in src/ops --------------------------------

const OPS_DIR = fileURLToPath(new URL('../../src/ops/', import.meta.url));

/**
 * Files still allowed to write their keys by hand, with the reason. Remove a
 * row when its file moves onto defineKernel.
 */
const HAND_KEYED: Readonly<Record<string, string>> = {};

/** Lines of `text` that write a pipeline key by hand: a `key:` in a launch, or a literal given to runtime.pipeline. */
function handWrittenKeys(text: string): string[] {
  return text.split('\n').filter((line) => /(^|[\s{,])key\s*:/.test(line) || /\.pipeline\(\s*[`'"]/.test(line));
}

describe('pipeline keys come from defineKernel', () => {
  it('finds a hand-written key in either form, and not a spread program', () => {
    expect(handWrittenKeys("rec.dispatch({\n    name: 'x',\n    key: `x:${v}`,")).toEqual(['    key: `x:${v}`,']);
    expect(handWrittenKeys("    name: 'lrn', key: 'lrn', shader")).toHaveLength(1);
    expect(handWrittenKeys("const pipeline = rec.runtime.pipeline(`image-input${e}`, shader);")).toHaveLength(1);
    expect(handWrittenKeys('rec.dispatch({ ...lrnProgram(false, params, x.size), buffers: [x, y] });\nconst { key, shader } = imageInputPipeline(e);\nrec.runtime.pipeline(key, shader);')).toEqual([]);
  });

  it('no op in src/ops writes a key by hand, except the allow-listed files', () => {
    const files = readdirSync(OPS_DIR).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(30);
    const found = files.filter((f) => !(f in HAND_KEYED)).flatMap((f) => handWrittenKeys(readFileSync(OPS_DIR + f, 'utf8')).map((line) => `${f}: ${line.trim()}`));
    expect(found).toEqual([]);
    for (const f of Object.keys(HAND_KEYED)) expect(files, `allow-listed ${f} exists`).toContain(f);
  });
});
