import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineParams } from './params.js';
import { kernelHeader, read } from './kernel.js';

// Pictures of tensors drawn straight into a texture (a canvas's current
// texture, or any rgba8unorm / bgra8unorm render target): a render pass with
// one full-screen triangle, clipped to the viewport, whose fragments read the
// tensor from a storage buffer. Each fragment finds its picture pixel
// (nearest: the viewport may be larger than the picture) and computes the
// colour the CPU functions of src/render compute for it, with the
// normalisation statistics from the `stats` buffer (shaders/image_stats.ts):
//   projection: projectionToImage (grey-centred: 0.5 + v * 0.5 / max|v| per
//               image; 3 channels as RGB, else their mean, 1 channel as is);
//   grid:       featureMapGrid (each channel a tile, min-max normalised,
//               `gap` dark pixels around);
//   heat:       heatMapToImage (min..max of the finite values, or given,
//               through a colour map; non-finite cells transparent);
//   input:      inputToImage (the model input back to pixels).
// Bytes are rounded in the shader (floor(x + 0.5)) so the unorm store is exact.

export type DrawKind = 'projection' | 'grid' | 'heat' | 'input';

/**
 * `imgW` x `imgH`: the picture; (vpX, vpY, vpW, vpH): where it is drawn.
 * `base`: first element of the image in `data`; `statsBase`: its first stats row.
 * `channels`, `planeH` x `planeW`: the tensor's image. Grid: `columns`, `gap`.
 * Heat: `lo`, `hi` used when `fixedRange` is 1; `alpha` in [0, 1].
 * Input: the preprocessing (`scale`, mean, std, `bgr`).
 */
export const drawParams = defineParams({
  imgW: 'u32', imgH: 'u32', vpX: 'f32', vpY: 'f32', vpW: 'f32', vpH: 'f32',
  base: 'u32', statsBase: 'u32', channels: 'u32', planeH: 'u32', planeW: 'u32',
  columns: 'u32', gap: 'u32', fixedRange: 'u32', lo: 'f32', hi: 'f32', alpha: 'f32',
  scale: 'f32', mean0: 'f32', mean1: 'f32', mean2: 'f32', std0: 'f32', std1: 'f32', std2: 'f32', bgr: 'u32',
});

/** `stops`: the heat colour map as [position, r, g, b] rows (see HEAT_COLORMAPS in src/render/image.ts). */
export function drawShader(kind: DrawKind, stops: ReadonlyArray<readonly number[]> = []): string {
  const stopList = stops.map((s) => `vec4f(${s.map((v) => v.toFixed(6)).join(', ')})`).join(', ');
  return wgsl`
${kernelHeader(drawParams, [read('data'), kind !== 'input' && read('stats')])}

@vertex
fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4f {
  let xy = vec2f(f32((i << 1u) & 2u), f32(i & 2u));
  return vec4f(xy * 2.0 - 1.0, 0.0, 1.0);
}

fn byte(v: f32) -> f32 { return clamp(floor(255.0 * v + 0.5), 0.0, 255.0) / 255.0; }
fn grey(v: f32) -> vec4f { let b = byte(v); return vec4f(b, b, b, 1.0); }

#if ${kind === 'projection'}
fn colour(x: u32, y: u32) -> vec4f {
  let plane = p.planeH * p.planeW;
  let at = p.base + y * p.planeW + x;
  let maxAbs = stats[4u * p.statsBase + 2u];
  var scale = 0.0;
  if (maxAbs > 0.0) { scale = 0.5 / maxAbs; }
  if (p.channels == 3u) {
    let rgb = vec3f(data[at], data[at + plane], data[at + 2u * plane]);
    return vec4f(byte(0.5 + rgb.r * scale), byte(0.5 + rgb.g * scale), byte(0.5 + rgb.b * scale), 1.0);
  }
  var s = 0.0;
  for (var c = 0u; c < p.channels; c++) { s += data[at + c * plane]; }
  if (p.channels != 1u) { s = s / f32(p.channels); }
  return grey(0.5 + s * scale);
}
#elif ${kind === 'grid'}
fn colour(x: u32, y: u32) -> vec4f {
  let black = vec4f(0.0, 0.0, 0.0, 1.0);
  if (x < p.gap || y < p.gap) { return black; }
  let col = (x - p.gap) / (p.planeW + p.gap);
  let row = (y - p.gap) / (p.planeH + p.gap);
  let ox = (x - p.gap) % (p.planeW + p.gap);
  let oy = (y - p.gap) % (p.planeH + p.gap);
  let ch = row * p.columns + col;
  if (ox >= p.planeW || oy >= p.planeH || col >= p.columns || ch >= p.channels) { return black; }
  let lo = stats[4u * (p.statsBase + ch)];
  let hi = stats[4u * (p.statsBase + ch) + 1u];
  var range = 1.0;
  if (hi > lo) { range = hi - lo; }
  let v = data[p.base + ch * p.planeH * p.planeW + oy * p.planeW + ox];
  return grey((v - lo) / range);
}
#elif ${kind === 'heat'}
const STOPS = array<vec4f, ${Math.max(stops.length, 1)}>(${stopList || 'vec4f(0.0)'});
fn finite(v: f32) -> bool { return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u; }
fn colour(x: u32, y: u32) -> vec4f {
  let v = data[p.base + y * p.planeW + x];
  if (!finite(v)) { return vec4f(0.0); }
  var lo = stats[4u * p.statsBase];
  var hi = stats[4u * p.statsBase + 1u];
  if (p.fixedRange == 1u) { lo = p.lo; hi = p.hi; }
  var t = 0.5;
  if (hi > lo) { t = clamp((v - lo) / (hi - lo), 0.0, 1.0); }
  var table = STOPS;
  var s = 1u;
  while (s < ${stops.length - 1}u && table[s].x < t) { s++; }
  let a = table[s - 1u];
  let b = table[s];
  let f = (t - a.x) / (b.x - a.x);
  let rgb = a.yzw + f * (b.yzw - a.yzw);
  return vec4f(byte(rgb.r), byte(rgb.g), byte(rgb.b), p.alpha);
}
#else
fn colour(x: u32, y: u32) -> vec4f {
  let plane = p.planeH * p.planeW;
  let at = p.base + y * p.planeW + x;
  if (p.channels == 1u) { return grey((data[at] * p.std0 + p.mean0) / p.scale); }
  var v = vec3f(
    (data[at] * p.std0 + p.mean0) / p.scale,
    (data[at + plane] * p.std1 + p.mean1) / p.scale,
    (data[at + 2u * plane] * p.std2 + p.mean2) / p.scale);
  if (p.bgr == 1u) { v = v.bgr; }
  return vec4f(byte(v.r), byte(v.g), byte(v.b), 1.0);
}
#endif

@fragment
fn fs(@builtin(position) pos: vec4f) -> @location(0) vec4f {
  let x = u32(clamp(floor((pos.x - p.vpX) * f32(p.imgW) / p.vpW), 0.0, f32(p.imgW - 1u)));
  let y = u32(clamp(floor((pos.y - p.vpY) * f32(p.imgH) / p.vpH), 0.0, f32(p.imgH - 1u)));
  return colour(x, y);
}
`;
}
