// The f16 forms of the GEMM core (shaders/gemm.ts, docs/f16.md) read statically:
// the native form (`enable f16;`, which SwiftShader cannot compile, so the
// browser test runs it only where the adapter has 'shader-f16') and the packed
// form come from the same generator as the f32 kernel: the same loop structure
// and multiply-adds, the f16 operand read in half the storage bytes, keys that
// never collide. Counts come from the static report's analyser (bench/wgsl-analysis.ts).
import { describe, expect, it } from 'vitest';
import { GEMM_TILES, INNER_LOOP_BEGIN, INNER_LOOP_END, gemmKernel, gemmShader, type GemmHalf, type GemmSpec } from '../../shaders/gemm.js';

/** The pipeline key the GEMM core's program factory gives `spec`. */
const gemmKeyOf = (spec: GemmSpec) => gemmKernel.program(spec, new ArrayBuffer(0), [1, 1, 1]).key;
import { analyzeWgsl } from '../../bench/wgsl-analysis.js';
import { kernelReport } from '../../bench/kernel-report.js';
import { kernelCases } from '../../bench/kernel-cases.js';

type Operands = GemmSpec['operands'];

// Every operand layout with rows along K, whose f16 form exists: the conv weight, A untransposed, B transposed.
const LAYOUTS: Array<{ operands: Operands; half: GemmHalf['operand'] }> = [
  { operands: { kind: 'conv' }, half: 'a' },
  { operands: { kind: 'matmul', transposeA: false, transposeB: false }, half: 'a' },
  { operands: { kind: 'matmul', transposeA: false, transposeB: true }, half: 'b' },
  { operands: { kind: 'matmul', transposeA: false, transposeB: true }, half: 'a' },
];
const EPILOGUES: GemmSpec['epilogue'][] = [{ kind: 'partial' }, { kind: 'final', bias: true, relu: true, accumulate: false }];

const innerLoop = (wgsl: string) => wgsl.slice(wgsl.indexOf(INNER_LOOP_BEGIN), wgsl.indexOf(INNER_LOOP_END));
/**
 * The shader with the precision taken out, as text that must be the same in every form: f16 types and the
 * conversions of staged registers read as f32, the slab sums as the accumulators, and the lines that exist
 * in one form only left out (the extension, the unpack function, the operand bindings, the slab-sum
 * declaration and fold, and the f16 operand's register loads: 4 scalar loads in f32, one 8-byte load in f16).
 */
const skeleton = (wgsl: string, operand: 'a' | 'b') => {
  const load = new RegExp(`^\\s*r${operand.toUpperCase()}(\\.[xyzw])? = `);
  return wgsl.split('\n')
    .filter((l) => l.trim() !== '' && !load.test(l) && !/enable f16|unpackHalf4\(w|var<storage, read> [ab]:|slabAcc\[i\]|var slabAcc/.test(l))
    .map((l) => l.replace(/vec4<f16>\((r[AB](\.[xyzw])?)\)/g, '$1').replace(/f16\((r[AB]\.[xyzw])\)/g, '$1').replace(/vec4<f16>/g, 'vec4f').replace(/slabAcc/g, 'acc'))
    .join('\n');
};

describe('GEMM core f16 forms (generated WGSL)', () => {
  for (const [tileName, tile] of Object.entries(GEMM_TILES)) {
    for (const { operands, half } of LAYOUTS) {
      for (const epilogue of EPILOGUES) {
        const base: GemmSpec = { tile, operands, epilogue };
        const label = `${tileName} ${JSON.stringify(operands)} ${half} as f16, ${epilogue.kind}`;
        it(label, () => {
          const f32 = gemmShader(base);
          const packed = gemmShader({ ...base, half: { operand: half, form: 'packed' } });
          const native = gemmShader({ ...base, half: { operand: half, form: 'native' } });
          const binding = half === 'a' ? 1 : 2, name = half;

          // Keys derive from the spec: three forms, three pipelines.
          const keys = new Set([base, { ...base, half: { operand: half, form: 'packed' } as GemmHalf }, { ...base, half: { operand: half, form: 'native' } as GemmHalf }].map(gemmKeyOf));
          expect(keys.size).toBe(3);

          expect(native.trimStart().startsWith('enable f16;')).toBe(true);
          expect(packed).not.toMatch(/enable f16|f16/);
          expect(f32).not.toMatch(/f16|unpack2x16float/);
          expect(native).toContain(`@binding(${binding}) var<storage, read> ${name}: array<vec4<f16>>;`);
          expect(packed).toContain(`@binding(${binding}) var<storage, read> ${name}: array<vec2u>;`);
          expect(packed).toContain('unpack2x16float');
          // Native: f16 tiles and slab sums, added into the f32 accumulators after each slab.
          expect(native).toMatch(/var<workgroup> tileA: array<vec4<f16>, \d+>/);
          expect(native).toMatch(/var slabAcc: array<vec4<f16>, \d+>/);
          expect(native).toMatch(/acc\[i\] \+= vec4f\(slabAcc\[i\]\)/);
          expect(native).toMatch(/var acc: array<vec4f, \d+>/);

          // Same structure: the lines that do not name a precision are the same count in all three forms.
          expect(skeleton(packed, half)).toBe(skeleton(f32, half));
          expect(skeleton(native, half)).toBe(skeleton(f32, half));

          const [r32, rPacked, rNative] = [f32, packed, native].map(analyzeWgsl);
          for (const r of [rPacked, rNative]) {
            expect(r!.hot!.macs, 'same multiply-adds per K step').toBe(r32!.hot!.macs);
            expect(r!.hot!.sharedLoads).toBe(r32!.hot!.sharedLoads);
            expect(r!.innerDivisions).toBe(0);
            expect(innerLoop(packed).replace(/\/\/.*$/gm, '')).not.toMatch(/[/%]/);
            expect(innerLoop(native).replace(/\/\/.*$/gm, '')).not.toMatch(/[/%]/);
          }
          // The f16 operand's 4 values per slab are 8 bytes instead of 16, at both load sites (interior and
          // edge tiles: the analyser counts guarded loads as loads); the other operand unchanged.
          expect(r32!.hot!.globalBytes - rPacked!.hot!.globalBytes).toBe(2 * (16 - 8));
          expect(rNative!.hot!.globalBytes).toBe(rPacked!.hot!.globalBytes);
          expect(rNative!.workgroupBytes).toBe(r32!.workgroupBytes / 2);
          expect(rPacked!.workgroupBytes).toBe(r32!.workgroupBytes);
        });
      }
    }
  }

  it("the static report's f16 rows of VGG16's conv5_1 at batch 1: the copy built once, 4/3 the multiply-adds per storage byte", async () => {
    const cases = kernelCases({ size: 224, batches: [1], matmulNs: [], layers: ['conv5_1'] });
    const rows = await kernelReport(cases, 132);
    const [f32, native, packed] = ['gemm128-conv', 'gemm128-conv f16', 'gemm128-conv f16-packed'].map((v) => rows.find((r) => r.variant === v)!);
    for (const r of [native!, packed!]) {
      expect(r.ran).toEqual(['conv2d:gemm128-conv']);
      expect(r.firstCallOnly, 'the f16 copy: first call only').toHaveLength(1);
      expect(r.firstCallOnly[0]).toMatch(/^gemm-f16-pack/);
      expect(r.passes.map((p) => p.key.replace(/half=\{[^}]*\},/, ''))).toEqual(f32!.passes.map((p) => p.key));
      expect(r.main!.workgroups).toBe(f32!.main!.workgroups);
      // Per K step an invocation reads 4 weights (16 -> 8 bytes) and 4 pixels (16 bytes): 32 -> 24 bytes.
      expect(r.main!.macsPerGlobalByte! / f32!.main!.macsPerGlobalByte!).toBeCloseTo(4 / 3, 10);
      expect(r.violation).toBe(false);
    }
    expect(native!.main!.key).toContain('form="native"');
    expect(packed!.main!.key).toContain('form="packed"');
    expect(native!.main!.workgroupBytes).toBe(f32!.main!.workgroupBytes / 2);
  });

  it('refuses an f16 operand whose rows do not run along K', () => {
    const tile = GEMM_TILES.gemm64;
    const epilogue = { kind: 'partial' } as const;
    expect(() => gemmShader({ tile, operands: { kind: 'matmul', transposeA: true, transposeB: false }, epilogue, half: { operand: 'a', form: 'packed' } })).toThrow(/rows along K/);
    expect(() => gemmShader({ tile, operands: { kind: 'matmul', transposeA: false, transposeB: false }, epilogue, half: { operand: 'b', form: 'native' } })).toThrow(/rows along K/);
    expect(() => gemmShader({ tile, operands: { kind: 'conv' }, epilogue, half: { operand: 'b', form: 'packed' } })).toThrow(/rows along K/);
  });
});
