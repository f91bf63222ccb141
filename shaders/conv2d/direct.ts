import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineParams, flatIndexFn } from '../params.js';
import { defineKernel, dispatch1d, type KernelProgram } from '../kernel.js';
import {
  CONV_GEOMETRY_FIELDS, convBindings, convGeometry, range, storeFn, type ConvEpilogue, type ConvProblem, type ConvWeightLayout,
} from './geometry.js';

// ---- 'direct' variant ------------------------------------------------------
//
// For CPU implementations of WebGPU (SwiftShader), where invocations run as
// fibers and every workgroup barrier or workgroup-memory access is expensive:
// no shared memory, no barriers. Each invocation owns a register block of
// R_P output pixels (consecutive in flat order) x R_M output channels of one
// (image, group) and walks the whole reduction itself, taps outer (the
// bounds checks of a tap are shared by every input channel) and input
// channels inner. Few, fat invocations; straight-line inner loops.
//
// Shared with the transposed convolution, which supplies `fn source(...)`
// (where a pixel's tap reads from, or -1) and `fn wIndex(...)`.

export const directConvParams = defineParams({
  ...CONV_GEOMETRY_FIELDS,
  pixels: 'u32',
  /** Blocks of R_P pixels per image, of R_M channels per group. */
  pixelBlocks: 'u32', channelBlocks: 'u32',
  /** batch * groups * channelBlocks * pixelBlocks: the real invocations. */
  invocations: 'u32',
});

export const DIRECT_WORKGROUP = 64;

/**
 * Invocations per workgroup for a launch of `invocations`: 64, or 16 when
 * that would leave fewer than 16 workgroups. A CPU implementation runs each
 * workgroup on one thread, so a deep layer on a tiny map (512 -> 512 at 2x2:
 * 32 invocations) would otherwise run on one core; on SwiftShader that layer
 * went from 38 to 19 ms.
 */
export function directWorkgroup(invocations: number): number {
  return invocations < 16 * DIRECT_WORKGROUP ? 16 : DIRECT_WORKGROUP;
}

/** R_P pixels x R_M channels per invocation; `wg` invocations per workgroup (default DIRECT_WORKGROUP; directConvLaunch sets it). */
export interface DirectConvBlock { rP: number; rM: number; wg?: number }

/**
 * R_M covers all channels of a group up to 16 (one weight fetch feeds R_P
 * pixels), R_P = 8, or 16 for narrow groups. Measured on SwiftShader (batch-64
 * MNIST convs): 8x16 and 16x16 blocks run 5-10x faster than 1x16 or 4x4.
 */
export function chooseDirectBlock(coutG: number): DirectConvBlock {
  const rM = Math.min(coutG, 16);
  const rP = rM >= 8 ? 8 : 16;
  return { rP, rM };
}

export function directBlockKey(b: DirectConvBlock): string { return `direct/${b.rP}x${b.rM}/wg${b.wg ?? DIRECT_WORKGROUP}`; }

export interface DirectConvSpec {
  block: DirectConvBlock;
  bias: boolean;
  relu: boolean;
  /**
   * WGSL defining `fn source(oy: u32, ox: u32, ky: u32, kx: u32) -> i32`: the
   * offset inside an input plane that output pixel (oy, ox) reads through tap
   * (ky, kx), or -1 (padding, or no input reaches it); and
   * `fn wIndex(g: u32, c: u32, m: u32, tap: u32) -> u32`.
   */
  taps: string;
  /**
   * With 'ihwo', `wIndex` is called once per (c, tap) with m = the block's
   * first channel, and the R_M channels are read at consecutive indices
   * after it (the weight has a channel stride of 1). Default 'oihw': one
   * wIndex per channel.
   */
  weightLayout?: ConvWeightLayout;
}

export function directConvShader(spec: DirectConvSpec): string {
  const { rP, rM } = spec.block;
  const wg = spec.block.wg ?? DIRECT_WORKGROUP;
  const px = range(rP), ch = range(rM);
  return wgsl`
${convBindings(directConvParams, spec.bias)}
${flatIndexFn(wg)}

${spec.taps}

@compute @workgroup_size(${wg})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.invocations) { return; }
  let pb = i % p.pixelBlocks;
  let r1 = i / p.pixelBlocks;
  let mb = r1 % p.channelBlocks;
  let ng = r1 / p.channelBlocks;
  let g = ng % p.groups;
  let n = ng / p.groups;
  let mBase = mb * ${rM}u;
  let planeIn = p.inH * p.inW;
  let xBase = (n * p.inC + g * p.cinG) * planeIn;
  // Channels past coutG (ragged last block) read channel coutG - 1 and are not stored.
${ch.map((j) => `  let mc${j} = min(mBase + ${j}u, p.coutG - 1u);`).join('\n')}
${spec.weightLayout === 'ihwo' ? ch.map((j) => `  let mo${j} = mc${j} - mBase;`).join('\n') : ''}
${px.map((j) => `  let pix${j} = min(pb * ${rP}u + ${j}u, p.pixels - 1u);
  let oy${j} = pix${j} / p.outW;
  let ox${j} = pix${j} - oy${j} * p.outW;`).join('\n')}
${px.map((j) => ch.map((k) => `  var a${j}_${k} = 0.0;`).join(' ')).join('\n')}
  let taps = p.kH * p.kW;
  for (var tap = 0u; tap < taps; tap++) {
    let ky = tap / p.kW;
    let kx = tap - ky * p.kW;
${px.map((j) => `    let s${j} = source(oy${j}, ox${j}, ky, kx);
    let ok${j} = s${j} >= 0;
    let o${j} = u32(max(s${j}, 0));`).join('\n')}
    for (var c = 0u; c < p.cinG; c++) {
      let xc = xBase + c * planeIn;
${px.map((j) => `      let v${j} = select(0.0, x[xc + o${j}], ok${j});`).join('\n')}
${spec.weightLayout === 'ihwo'
    ? `      let wb = wIndex(g, c, mBase, tap);\n${ch.map((k) => `      let w${k} = w[wb + mo${k}];`).join('\n')}`
    : ch.map((k) => `      let w${k} = w[wIndex(g, c, mc${k}, tap)];`).join('\n')}
${px.map((j) => ch.map((k) => `a${j}_${k} += v${j} * w${k};`).join(' ')).join('\n')}
    }
  }
${px.map((j) => ch.map((k) => `  store(n, g, mBase + ${k}u, pb * ${rP}u + ${j}u, a${j}_${k});`).join('\n')).join('\n')}
}

${storeFn(spec)}
`;
}

/** Block, packed uniforms and workgroup counts of one direct launch. */
export function directConvLaunch(problem: ConvProblem, block?: DirectConvBlock): { block: DirectConvBlock; params: ArrayBuffer; dispatch: [number, number, number] } {
  const coutG = problem.outC / problem.groups;
  const b = block ?? chooseDirectBlock(coutG);
  const pixels = problem.outH * problem.outW;
  const pixelBlocks = Math.ceil(pixels / b.rP);
  const channelBlocks = Math.ceil(coutG / b.rM);
  const invocations = problem.batch * problem.groups * channelBlocks * pixelBlocks;
  const params = directConvParams.pack({
    ...convGeometry(problem, problem.cinG, coutG),
    pixels, pixelBlocks, channelBlocks, invocations,
  });
  const wg = directWorkgroup(invocations);
  return { block: { rP: b.rP, rM: b.rM, wg }, params, dispatch: dispatch1d(invocations, wg) };
}

/** Direct forward convolution (see directConvShader); 'ihwo': the weight comes as [C/g, kH, kW, M]. */
export function conv2dDirectShader(variant: { block: DirectConvBlock; bias: boolean; relu: boolean; weightLayout?: ConvWeightLayout }): string {
  const ihwo = variant.weightLayout === 'ihwo';
  return directConvShader({ ...variant, taps: CONV_DIRECT_SOURCE + (ihwo ? CONV_DIRECT_W_IHWO : CONV_DIRECT_W_OIHW) });
}

// Branch-free (select, non-short-circuit &): SwiftShader's compile time grows
// steeply with the control flow of the R_P inlined copies.
const CONV_DIRECT_SOURCE = /* wgsl */ `
fn source(oy: u32, ox: u32, ky: u32, kx: u32) -> i32 {
  let iy = i32(oy * p.strideH + ky * p.dilH) - p.padT;
  let ix = i32(ox * p.strideW + kx * p.dilW) - p.padL;
  let ok = (iy >= 0) & (ix >= 0) & (iy < i32(p.inH)) & (ix < i32(p.inW));
  return select(-1, iy * i32(p.inW) + ix, ok);
}
`;

const CONV_DIRECT_W_OIHW = /* wgsl */ `
fn wIndex(g: u32, c: u32, m: u32, tap: u32) -> u32 {
  return ((g * p.coutG + m) * p.cinG + c) * p.kH * p.kW + tap;
}
`;

// [C/g, kH, kW, M]: output channel g * coutG + m of input channel c (of its group), tap.
const CONV_DIRECT_W_IHWO = /* wgsl */ `
fn wIndex(g: u32, c: u32, m: u32, tap: u32) -> u32 {
  return (c * p.kH * p.kW + tap) * p.outC + g * p.coutG + m;
}
`;

const directConvKernel = defineKernel('conv2d:direct', conv2dDirectShader);

/** Direct register blocks ('direct*'); buffers [x, w (`weightLayout`), y, bias?]. */
export function conv2dDirectProgram(
  problem: ConvProblem, epilogue: ConvEpilogue, block: DirectConvBlock | undefined, weightLayout: ConvWeightLayout, label = 'conv2d',
): KernelProgram {
  const launch = directConvLaunch(problem, block);
  return directConvKernel.program({ block: launch.block, weightLayout, ...epilogue }, launch.params, launch.dispatch, label);
}
