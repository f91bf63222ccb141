// Float64 resize written from ONNX Resize's definition (operators.md): each
// output coordinate maps to an input coordinate by the coordinate
// transformation; nearest rounds it by nearest_mode, linear interpolates
// between its two neighbours (the coordinate clamped into the input).
export type Ct = 'half_pixel' | 'pytorch_half_pixel' | 'align_corners' | 'asymmetric' | 'tf_half_pixel_for_nn';
export type Nr = 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil';
export interface ResizeRef { mode: 'nearest' | 'linear'; ct: Ct; nr?: Nr; scales?: [number, number]; size?: [number, number] }

/** The weights of one axis as a dense [out, in] matrix. */
function axisMatrix(inLen: number, r: ResizeRef, axis: 0 | 1): { out: number; m: Float64Array } {
  const out = r.scales ? Math.floor(inLen * r.scales[axis]) : r.size![axis];
  const scale = r.scales ? r.scales[axis] : out / inLen;
  const m = new Float64Array(out * inLen);
  for (let o = 0; o < out; o++) {
    let x: number;
    if (r.ct === 'half_pixel') x = (o + 0.5) / scale - 0.5;
    else if (r.ct === 'pytorch_half_pixel') x = out > 1 ? (o + 0.5) / scale - 0.5 : 0;
    else if (r.ct === 'align_corners') x = out === 1 ? 0 : (o * (inLen - 1)) / (out - 1);
    else if (r.ct === 'tf_half_pixel_for_nn') x = (o + 0.5) / scale;
    else x = o / scale;
    if (r.mode === 'nearest') {
      const nr = r.nr ?? 'round_prefer_floor';
      const frac = x - Math.floor(x);
      let k = nr === 'floor' ? Math.floor(x) : nr === 'ceil' ? Math.ceil(x)
        : frac === 0.5 ? (nr === 'round_prefer_floor' ? Math.floor(x) : Math.ceil(x)) : Math.round(x);
      k = Math.min(Math.max(k, 0), inLen - 1);
      m[o * inLen + k] = 1;
    } else {
      const c = Math.min(Math.max(x, 0), inLen - 1);
      const lo = Math.floor(c), hi = Math.min(lo + 1, inLen - 1);
      m[o * inLen + lo] += 1 - (c - lo);
      m[o * inLen + hi] += c - lo;
    }
  }
  return { out, m };
}

/** y = My x Mx^T per plane; `transpose`: the adjoint, g -> My^T g Mx. */
export function resizeRef(data: ArrayLike<number>, shape: readonly number[], r: ResizeRef, transpose = false, inShape?: readonly number[]): { data: Float64Array; shape: number[] } {
  const [n, c] = shape as [number, number];
  const [h, w] = transpose ? [inShape![2]!, inShape![3]!] : [shape[2]!, shape[3]!];
  const my = axisMatrix(h, r, 0), mx = axisMatrix(w, r, 1);
  const planes = n * c;
  if (!transpose) {
    const y = new Float64Array(planes * my.out * mx.out);
    for (let p = 0; p < planes; p++) for (let oy = 0; oy < my.out; oy++) for (let ox = 0; ox < mx.out; ox++) {
      let acc = 0;
      for (let iy = 0; iy < h; iy++) for (let ix = 0; ix < w; ix++) acc += my.m[oy * h + iy]! * mx.m[ox * w + ix]! * data[(p * h + iy) * w + ix]!;
      y[(p * my.out + oy) * mx.out + ox] = acc;
    }
    return { data: y, shape: [n, c, my.out, mx.out] };
  }
  const dx = new Float64Array(planes * h * w);
  for (let p = 0; p < planes; p++) for (let oy = 0; oy < my.out; oy++) for (let ox = 0; ox < mx.out; ox++) {
    const gv = data[(p * my.out + oy) * mx.out + ox]!;
    for (let iy = 0; iy < h; iy++) for (let ix = 0; ix < w; ix++) dx[(p * h + iy) * w + ix] += my.m[oy * h + iy]! * mx.m[ox * w + ix]! * gv;
  }
  return { data: dx, shape: [n, c, h, w] };
}
