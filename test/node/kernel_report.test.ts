// The WGSL analyser of the static kernel report (bench/wgsl-analysis.ts) on
// hand-written shaders whose counts are known by reading them.
import { describe, expect, it } from 'vitest';
import { analyzeWgsl, evalConst, parseType, tripCount, typeBytes } from '../../bench/wgsl-analysis.js';
import { kernelReport } from '../../bench/kernel-report.js';
import { kernelCases } from '../../bench/kernel-cases.js';
import { variantsOf } from '../../bench/program-capture.js';
import { MATMUL_TILES } from '../../shaders/matmul.js';

// A 2x2-per-invocation tiled GEMM in the style of the library's 'tiled' kernels: scalar
// shared loads (2 + 2 per k for 4 multiply-adds), a loader with a run-time division.
const SCALAR_TILED = /* wgsl */ `
struct Params { M: u32, N: u32, K: u32, kW: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
const TM = 16u;
const TK = 8u;
const THREADS = 64u;
var<workgroup> tileA: array<f32, TM * TK>;            // 512 bytes
var<workgroup> tileB: array<f32, (TM + 1u) * TK>;     // 544 bytes

fn loadA(m: u32, k: u32) -> f32 {
  let row = k / p.kW;        // run-time divisor: counted
  let col = k % p.kW;        // counted
  return a[m * p.K + row * p.kW + col];
}

@compute @workgroup_size(8, 8)
fn main(@builtin(local_invocation_index) li: u32, @builtin(local_invocation_id) lid: vec3u) {
  var acc00 = 0.0; var acc01 = 0.0; var acc10 = 0.0; var acc11 = 0.0;
  let scale = 1.0 / f32(p.K);   // float division: not counted
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    for (var e = li; e < TM * TK; e += THREADS) {
      let m = e / TK;           // power-of-two constant: a shift, not counted
      tileA[e] = loadA(m, k0 + e % TK);
      tileB[e] = b[(k0 + e % TK) * p.N + e / 3u];   // constant 3: counted
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let a0 = tileA[k * TM + lid.x];
      let a1 = tileA[k * TM + lid.x + 8u];
      let b0 = tileB[k * 17u + lid.y];
      let b1 = tileB[k * 17u + lid.y + 8u];
      acc00 += a0 * b0; acc01 += a0 * b1;
      acc10 += a1 * b0; acc11 += a1 * b1;
    }
    workgroupBarrier();
  }
  // Epilogue: a store loop nest dividing per output, outside the K walk: not an inner-loop division.
  for (var i = 0u; i < 2u; i++) {
    for (var j = 0u; j < 2u; j++) { y[(lid.x + i) / p.kW + j] = (acc00 + acc01 + acc10 + acc11) * scale; }
  }
}
`;

// vec4 tiles, fma on vec4 accumulators: 8 multiply-adds of 4 lanes per 3 shared loads.
const VEC4_TILED = /* wgsl */ `
@group(0) @binding(1) var<storage, read> x: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4f>;
const QP = 8u;
var<workgroup> tileA: array<vec4f, 16 * QP>;     // 2048 bytes
var<workgroup> tileB: array<vec4<f32>, 64>;      // 1024 bytes
var<workgroup> flags: array<vec3u, 10>;          // vec3 stride 16: 160 bytes

@compute @workgroup_size(QP, 4, 2)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  var acc: array<vec4f, 8>;
  var n = wid.x;
  loop {
    if (n == 0u) { break; }
    tileA[lid.x] = x[n];
    tileB[lid.y] = x[n + 1u];
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk += 2u) {
      let a0 = tileA[kk * QP + lid.x];
      let a1 = tileA[kk * QP + lid.x + 4u];
      let bv = tileB[kk * 4u + lid.y];
      acc[0] = fma(vec4f(a0.x), bv, acc[0]);
      acc[1] = fma(vec4f(a0.y), bv, acc[1]);
      acc[2] = fma(vec4f(a0.z), bv, acc[2]);
      acc[3] = fma(vec4f(a0.w), bv, acc[3]);
      acc[4] = fma(vec4f(a1.x), bv, acc[4]);
      acc[5] = fma(vec4f(a1.y), bv, acc[5]);
      acc[6] = fma(vec4f(a1.z), bv, acc[6]);
      acc[7] = fma(vec4f(a1.w), bv, acc[7]);
    }
    n = n - 1u;
  }
  y[wid.x] = acc[0];
}
`;

// No workgroup memory: a register-blocked kernel whose inner channel loop reads storage directly.
const DIRECT = /* wgsl */ `
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
struct Params { taps: u32, cin: u32, kW: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  var s0 = 0.0; var s1 = 0.0; var s2 = 0.0;
  for (var tap = 0u; tap < p.taps; tap++) {
    let ky = tap / p.kW;       // depth 1: not an inner-loop division
    for (var c = 0u; c < p.cin; c++) {
      let v = x[c * 9u + ky];
      let w0 = w[c]; let w1 = w[c + 1u]; let w2 = w[c + 2u];
      s0 += v * w0;
      s1 += v * w1;
      s2 += v * w2 + 0.5 * v;  // two products summed: 2 multiply-adds
    }
  }
  y[gid.x] = s0 + s1 + s2;
}
`;

describe('kernel report: WGSL analysis', () => {
  it('counts a scalar tiled kernel: invocations, shared bytes, loads per multiply-add, inner divisions with their sites', () => {
    const r = analyzeWgsl(SCALAR_TILED);
    expect(r.invocations).toBe(64);
    expect(r.workgroupVars).toEqual([{ name: 'tileA', bytes: 512 }, { name: 'tileB', bytes: 544 }]);
    expect(r.workgroupBytes).toBe(1056);
    expect(r.hotLoop).toBe('for (var k0 = 0u; k0 < p.K; k0 += TK)');
    // Per K slab: 8 iterations x (4 loads, 4 multiply-adds); staging: 128 / 64 = 2 trips x (1 read of a + 1 of b).
    expect(r.hot).toEqual({ macs: 32, sharedLoads: 32, globalBytes: 16, divisions: 6 });
    expect(r.macsPerSharedLoad).toBe(1);
    expect(r.macsPerGlobalByte).toBe(2);
    expect(r.innerDivisions).toBe(3);
    expect(r.innerDivisionSites.sort()).toEqual(['e / 3u', 'k % p.kW (in loadA)', 'k / p.kW (in loadA)']);
  });

  it('counts vec4 lanes of fma, vec4 shared loads, a `loop` with a run-time exit and vec3 array strides', () => {
    const r = analyzeWgsl(VEC4_TILED);
    expect(r.invocations).toBe(64);
    expect(r.workgroupBytes).toBe(2048 + 1024 + 160);
    expect(r.hotLoop).toBe('loop');
    // 8 trips x (8 fma x 4 lanes, 3 loads); staging: 2 vec4 reads of x (32 bytes), stores not counted.
    expect(r.hot).toEqual({ macs: 256, sharedLoads: 24, globalBytes: 32, divisions: 0 });
    expect(r.macsPerSharedLoad).toBeCloseTo(256 / 24, 12);
    expect(r.innerDivisions).toBe(0);
  });

  it('picks the innermost run-time loop of a direct kernel; a division at depth 1 is not an inner division', () => {
    const r = analyzeWgsl(DIRECT);
    expect(r.workgroupBytes).toBe(0);
    expect(r.invocations).toBe(64);
    expect(r.hotLoop).toBe('for (var c = 0u; c < p.cin; c++)');
    expect(r.hot).toEqual({ macs: 4, sharedLoads: 0, globalBytes: 16, divisions: 0 });
    expect(r.macsPerSharedLoad).toBeNull();
    expect(r.macsPerGlobalByte).toBe(0.25);
    expect(r.innerDivisions).toBe(0);
  });

  it('without a hot loop, a division in any loop inside a loop is an inner division', () => {
    const r = analyzeWgsl(`@group(0) @binding(1) var<storage, read_write> y: array<u32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  for (var i = 0u; i < 4u; i++) { let q = g.x / 3u; for (var j = 0u; j < 4u; j++) { y[i * 4u + j] = g.x % 5u + q; } }
}`);
    expect(r.hot).toBeNull();
    expect(r.innerDivisionSites).toEqual(['g.x % 5u']);
  });

  it('a kernel without loops has no hot loop', () => {
    const r = analyzeWgsl('@group(0) @binding(1) var<storage, read_write> y: array<f32>;\n@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) g: vec3u) { y[g.x] = y[g.x] * 2.0; }');
    expect(r).toMatchObject({ invocations: 256, workgroupBytes: 0, hot: null, hotLoop: null, innerDivisions: 0 });
  });

  it('evaluates constant expressions, types and trip counts', () => {
    const consts = new Map([['TK', 16], ['THREADS', 64]]);
    expect(evalConst('(TK + 1u) * 4u - 2', consts)).toBe(66);
    expect(evalConst('min(TK, 8u) << 2u', consts)).toBe(32);
    expect(evalConst('p.K / TK', consts)).toBeNull();
    expect(typeBytes(parseType('array<vec4<f32>, TK * 2u>', consts))).toBe(512);
    expect(typeBytes(parseType('array<array<f16, 3>, 2>', consts))).toBe(12);
    expect(tripCount('var k = 0u; k < TK; k++', consts)).toBe(16);
    expect(tripCount('var e = li; e < TK * 8u; e += THREADS', consts)).toBe(2);
    expect(tripCount('var i = 2u; i <= 9u; i = i + 3u', consts)).toBe(3);
    expect(tripCount('var k0 = 0u; k0 < p.K; k0 += TK', consts)).toBeNull();
  });

  it('captures what the library records for a 1024^3 matmul, every registered variant, with no GPU', async () => {
    const cases = kernelCases({ size: 224, batches: [1], matmulNs: [1024], layers: [] });
    expect(cases.map((c) => c.label)).toEqual(['matmul 1024^3']);
    const rows = await kernelReport(cases, 132);
    expect(rows.map((r) => r.variant)).toEqual(variantsOf('matmul'));
    const tiled = rows.find((r) => r.variant === 'tiled')!;
    const t = MATMUL_TILES.tiled!;
    expect(tiled.ran).toEqual(['matmul:tiled']);
    expect(tiled.passes).toHaveLength(1);
    // One workgroup per TM x TN tile, (TM/4)(TN/4) invocations of 4x4 outputs, two k-major slabs padded by one column.
    expect(tiled.main!.workgroups).toBe((1024 / t.tm) * (1024 / t.tn));
    expect(tiled.main!.workgroupsPerSm).toBeCloseTo(tiled.main!.workgroups / 132, 12);
    expect(tiled.main!.invocations).toBe((t.tm / 4) * (t.tn / 4));
    expect(tiled.main!.workgroupBytes).toBe(4 * t.tk * (t.tm + 1 + t.tn + 1));
    // Scalar shared loads assembled into vec4s: 8 loads per 16 multiply-adds.
    expect(tiled.main!.macsPerSharedLoad).toBe(2);
    expect(tiled.violation).toBe(false);
    expect(rows.find((r) => r.variant === 'direct')!.main!.workgroupBytes).toBe(0);
  });
});
