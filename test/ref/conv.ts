// Float64 references for the convolutions, written from the definitions as
// plain loops. Pads are explicit [top, left, bottom, right]; 'same' is
// resolved by samePadsRef, written again here from the TF/ONNX definition.

export interface ConvRefAttrs {
  stride: [number, number];
  dilation: [number, number];
  pads: [number, number, number, number];
  groups: number;
  relu?: boolean;
}

type Shape4 = readonly [number, number, number, number];

/** TF 'same' / ONNX SAME_UPPER pads for a forward window. */
export function samePadsRef(h: number, w: number, kH: number, kW: number, stride: [number, number], dilation: [number, number]): [number, number, number, number] {
  const axis = (size: number, k: number, s: number, d: number) => {
    const out = Math.ceil(size / s);
    const total = Math.max(0, (out - 1) * s + (k - 1) * d + 1 - size);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  const [t, b] = axis(h, kH, stride[0], dilation[0]);
  const [l, r] = axis(w, kW, stride[1], dilation[1]);
  return [t!, l!, b!, r!];
}

export function convOutputShapeRef(xShape: Shape4, wShape: Shape4, a: ConvRefAttrs): [number, number, number, number] {
  const oh = Math.floor((xShape[2] + a.pads[0] + a.pads[2] - (wShape[2] - 1) * a.dilation[0] - 1) / a.stride[0]) + 1;
  const ow = Math.floor((xShape[3] + a.pads[1] + a.pads[3] - (wShape[3] - 1) * a.dilation[1] - 1) / a.stride[1]) + 1;
  return [xShape[0], wShape[0], oh, ow];
}

/**
 * Visits every (output, input, weight) triple of a forward convolution whose
 * input position is inside the image: y[o] += x[i] * w[k] for each visit.
 */
function forEachConvTerm(xShape: Shape4, wShape: Shape4, a: ConvRefAttrs, visit: (o: number, i: number, k: number) => void): void {
  const [n, c, h, w] = xShape;
  const [m, cg, kH, kW] = wShape;
  const [, , oh, ow] = convOutputShapeRef(xShape, wShape, a);
  const mg = m / a.groups;
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < m; oc++) {
      const g = Math.floor(oc / mg);
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          const o = ((b * m + oc) * oh + oy) * ow + ox;
          for (let ci = 0; ci < cg; ci++) {
            const ic = g * cg + ci;
            for (let ky = 0; ky < kH; ky++) {
              const iy = oy * a.stride[0] - a.pads[0] + ky * a.dilation[0];
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kW; kx++) {
                const ix = ox * a.stride[1] - a.pads[1] + kx * a.dilation[1];
                if (ix < 0 || ix >= w) continue;
                visit(o, ((b * c + ic) * h + iy) * w + ix, ((oc * cg + ci) * kH + ky) * kW + kx);
              }
            }
          }
        }
      }
    }
  }
}

/** y = conv(x, w) + bias, optionally rectified. */
export function conv2dRef(
  x: ArrayLike<number>, xShape: Shape4, wt: ArrayLike<number>, wShape: Shape4, bias: ArrayLike<number> | null, a: ConvRefAttrs,
): Float64Array {
  const [n, m, oh, ow] = convOutputShapeRef(xShape, wShape, a);
  const y = new Float64Array(n * m * oh * ow);
  forEachConvTerm(xShape, wShape, a, (o, i, k) => { y[o] += x[i]! * wt[k]!; });
  for (let o = 0; o < y.length; o++) {
    if (bias) y[o] += bias[Math.floor(o / (oh * ow)) % m]!;
    if (a.relu) y[o] = Math.max(y[o]!, 0);
  }
  return y;
}

/**
 * dx[i] = sum over outputs o of g[o] * d conv(x)[o] / dx[i]: the adjoint of the
 * (linear) convolution, scattered from each output back onto the inputs it read.
 */
export function conv2dInputGradRef(g: ArrayLike<number>, xShape: Shape4, wt: ArrayLike<number>, wShape: Shape4, a: ConvRefAttrs): Float64Array {
  const dx = new Float64Array(xShape[0] * xShape[1] * xShape[2] * xShape[3]);
  forEachConvTerm(xShape, wShape, { ...a, relu: false }, (o, i, k) => { dx[i] += g[o]! * wt[k]!; });
  return dx;
}

export interface TransposeRefAttrs {
  stride: [number, number];
  dilation: [number, number];
  /** Leading pads (top, left): how far the full output is shifted up/left. */
  padBegin: [number, number];
  groups: number;
  outH: number;
  outW: number;
}

/**
 * Transposed convolution as a scatter: each input x[b, ic, iy, ix] adds
 * x * w[ic, co, ky, kx] to output (iy*s - pad + ky*d, ix*s - pad + kx*d) of
 * every output channel co of its group; positions outside the output are cropped.
 */
export function conv2dTransposeRef(
  x: ArrayLike<number>, xShape: Shape4, wt: ArrayLike<number>, wShape: Shape4, bias: ArrayLike<number> | null, a: TransposeRefAttrs,
): Float64Array {
  const [n, cin, h, w] = xShape;
  const [, coutG, kH, kW] = wShape;
  const cinG = cin / a.groups, cout = coutG * a.groups;
  const { outH, outW } = a;
  const y = new Float64Array(n * cout * outH * outW);
  for (let b = 0; b < n; b++) {
    for (let ic = 0; ic < cin; ic++) {
      const g = Math.floor(ic / cinG);
      for (let iy = 0; iy < h; iy++) {
        for (let ix = 0; ix < w; ix++) {
          const v = x[((b * cin + ic) * h + iy) * w + ix]!;
          for (let co = 0; co < coutG; co++) {
            const oc = g * coutG + co;
            for (let ky = 0; ky < kH; ky++) {
              const oy = iy * a.stride[0] - a.padBegin[0] + ky * a.dilation[0];
              if (oy < 0 || oy >= outH) continue;
              for (let kx = 0; kx < kW; kx++) {
                const ox = ix * a.stride[1] - a.padBegin[1] + kx * a.dilation[1];
                if (ox < 0 || ox >= outW) continue;
                y[((b * cout + oc) * outH + oy) * outW + ox] += v * wt[((ic * coutG + co) * kH + ky) * kW + kx]!;
              }
            }
          }
        }
      }
    }
  }
  if (bias) for (let o = 0; o < y.length; o++) y[o] += bias[Math.floor(o / (outH * outW)) % cout]!;
  return y;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
