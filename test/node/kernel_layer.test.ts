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
