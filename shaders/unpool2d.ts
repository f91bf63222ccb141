import { defineParams, flatIndexFn } from './params.js';
import { POOL_FIELDS, WORKGROUP } from './maxpool2d.js';

// Unpooling (Zeiler & Fergus 2014) = the gradient of max pooling: each input
// position receives the sum of the signals of the windows whose switch chose
// it. Gathered rather than scattered: one invocation per *input* element
// walks the (ky, kx) taps backwards to the windows that can contain it, so
// overlapping windows (3x3 stride 2) that picked the same position add up in
// a fixed order without atomics or races.

export { WORKGROUP };

export const unpoolParams = defineParams(POOL_FIELDS);

export function unpool2dShader(): string {
  return `
${unpoolParams.struct}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> switches: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
${flatIndexFn(WORKGROUP)}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.total) { return; }
  let w = u32(p.W);
  let h = u32(p.H);
  let ix = i32(i % w);
  let iy = i32((i / w) % h);
  let here = u32(iy * p.W + ix);
  let outBase = (i / (w * h)) * u32(p.OH * p.OW);

  var acc = 0.0;
  for (var ky = 0; ky < p.kH; ky++) {
    // The window whose tap ky lands on row iy starts at row iy - ky * dH.
    let ty = iy + p.padTop - ky * p.dH;
    if (ty < 0 || ty % p.sH != 0 || ty / p.sH >= p.OH) { continue; }
    let oy = ty / p.sH;
    for (var kx = 0; kx < p.kW; kx++) {
      let tx = ix + p.padLeft - kx * p.dW;
      if (tx < 0 || tx % p.sW != 0 || tx / p.sW >= p.OW) { continue; }
      let o = outBase + u32(oy * p.OW + tx / p.sW);
      if (switches[o] == here) { acc += g[o]; }
    }
  }
  dx[i] = acc;
}
`;
}
