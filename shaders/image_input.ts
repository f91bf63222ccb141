import { defineParams } from './params.js';
import { defineKernel, kernelHeader, readWrite, texture } from './kernel.js';

// A picture on the GPU (a texture, or a video frame as an external texture)
// to one image of a model's input batch [N, C, H, W], with no trip through
// the CPU: resize, crop or letterbox, then the model's preprocessing.
//
// Geometry: output pixel (x, y) of the `outW` x `outH` image has its centre at
// (x + 0.5, y + 0.5). Inside the destination rectangle [d0, d0 + dSize) it
// takes the source point s0 + (x + 0.5 - d0.x) * sSize / dSize - 0.5 (in source
// pixel-centre coordinates), read bilinearly from the 4 surrounding texels
// with coordinates clamped to the edge; outside it is the `fill` grey.
//   stretch:   source = whole picture, destination = whole output;
//   crop:      source = the centred part of the picture with the output's
//              aspect ratio, destination = whole output;
//   letterbox: source = whole picture, destination = the centred rectangle
//              of the picture's aspect ratio, round(picture * k) with
//              k = min(outW / srcW, outH / srcH), at floor((out - size) / 2).
// At the same size with 'stretch' every point is a texel centre, so the
// values are the texels themselves.
//
// Pixel values are the texture's normalised [0, 1] channels (a byte / 255);
// each becomes (v * scale - mean[c]) / std[c] in the model's channel order,
// or for 1 channel the BT.601 luma 0.299 r + 0.587 g + 0.114 b first.

export const WORKGROUP_X = 8;
export const WORKGROUP_Y = 8;

export const FIT_MODES = ['stretch', 'crop', 'letterbox'] as const;

/** `batchIndex`: which image of the output this dispatch writes. `srcW`/`srcH`: the picture's size (0: the whole texture). */
export const imageInputParams = defineParams({
  outW: 'u32', outH: 'u32', channels: 'u32', batchIndex: 'u32',
  srcW: 'u32', srcH: 'u32', fit: 'u32', bgr: 'u32',
  scale: 'f32', fill: 'f32',
  mean0: 'f32', mean1: 'f32', mean2: 'f32',
  std0: 'f32', std1: 'f32', std2: 'f32',
});

const EXTERNAL_READS = `fn texel(c: vec2i) -> vec4f { return textureLoad(src, vec2u(c)); }
fn srcSize() -> vec2u { return textureDimensions(src); }`;

const TEXTURE_READS = `fn texel(c: vec2i) -> vec4f { return textureLoad(src, c, 0); }
fn srcSize() -> vec2u { return textureDimensions(src, 0); }`;

/** `external`: the source is a `texture_external` (a video frame) instead of a `texture_2d<f32>`. */
export function imageInputShader(external: boolean): string {
  return `
${kernelHeader(imageInputParams, [texture('src', external ? 'texture_external' : 'texture_2d<f32>'), readWrite('dst')])}
${external ? EXTERNAL_READS : TEXTURE_READS}

// Bilinear read at source pixel-centre coordinates, clamped to the picture's edge.
fn bilinear(s: vec2f, size: vec2f) -> vec4f {
  let pos = clamp(s, vec2f(0.0), size - 1.0);
  let lo = floor(pos);
  let a = pos - lo;
  let i0 = vec2i(lo);
  let i1 = vec2i(min(lo + 1.0, size - 1.0));
  let top = mix(texel(i0), texel(vec2i(i1.x, i0.y)), a.x);
  let bottom = mix(texel(vec2i(i0.x, i1.y)), texel(i1), a.x);
  return mix(top, bottom, a.y);
}

@compute @workgroup_size(${WORKGROUP_X}, ${WORKGROUP_Y})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= p.outW || gid.y >= p.outH) { return; }
  var size = vec2f(f32(p.srcW), f32(p.srcH));
  if (p.srcW == 0u) { size = vec2f(srcSize()); }
  let out = vec2f(f32(p.outW), f32(p.outH));
  var s0 = vec2f(0.0);
  var sSize = size;
  var d0 = vec2f(0.0);
  var dSize = out;
  if (p.fit == 1u) {
    sSize = out / max(out.x / size.x, out.y / size.y);
    s0 = (size - sSize) * 0.5;
  } else if (p.fit == 2u) {
    dSize = round(size * min(out.x / size.x, out.y / size.y));
    d0 = floor((out - dSize) * 0.5);
  }
  let centre = vec2f(gid.xy) + 0.5;
  var rgb = vec3f(p.fill);
  if (all(centre >= d0) && all(centre < d0 + dSize)) {
    rgb = bilinear(s0 + (centre - d0) * sSize / dSize - 0.5, size).rgb;
  }
  let plane = p.outW * p.outH;
  let at = p.batchIndex * p.channels * plane + gid.y * p.outW + gid.x;
  if (p.channels == 1u) {
    let luma = 0.299 * rgb.r + 0.587 * rgb.g + 0.114 * rgb.b;
    dst[at] = (luma * p.scale - p.mean0) / p.std0;
    return;
  }
  var v = rgb;
  if (p.bgr == 1u) { v = rgb.bgr; }
  dst[at] = (v.x * p.scale - p.mean0) / p.std0;
  dst[at + plane] = (v.y * p.scale - p.mean1) / p.std1;
  dst[at + 2u * plane] = (v.z * p.scale - p.mean2) / p.std2;
}
`;
}

const imageInputKernel = defineKernel('image-input', ({ external }: { external: boolean }) => imageInputShader(external));

/**
 * Pipeline key and WGSL for one source kind. The pass binds a texture, so
 * src/ops/image_input.ts records it itself rather than through a Program.
 */
export function imageInputPipeline(external: boolean): { key: string; shader: () => string } {
  return imageInputKernel.pipeline({ external });
}
