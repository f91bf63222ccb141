// Where a flat invocation index i of a 1-D kernel (flatMain) sits in an NCHW
// map pair: the input planes are H x W, the output planes OH x OW, and the
// kernel's Params carry H, W, OH, OW as i32 (pooling, padding, unpooling).
// Both prologues are WGSL statements for the top of a flatMain body.

/** i runs over the input [N*C, H, W]: its column ix and row iy (i32), and outBase, the first element of its plane in the output. */
export const INPUT_PIXEL = `  let w = u32(p.W);
  let h = u32(p.H);
  let ix = i32(i % w);
  let iy = i32((i / w) % h);
  let outBase = (i / (w * h)) * u32(p.OH * p.OW);`;

/** i runs over the output [N*C, OH, OW]: its column ox and row oy (i32), and base, the first element of its plane in the input. */
export const OUTPUT_PIXEL = `  let ow = u32(p.OW);
  let oh = u32(p.OH);
  let ox = i32(i % ow);
  let oy = i32((i / ow) % oh);
  let base = (i / (ow * oh)) * u32(p.H * p.W);`;
