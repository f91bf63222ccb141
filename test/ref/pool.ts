// Float64 references for pooling, written from the definitions: a window of
// output (oy, ox) covers padded-input rows oy * sH - padTop + ky * dH and
// columns ox * sW - padLeft + kx * dW; positions outside the input are padding.
// Backward references scatter (each output sends its signal to the inputs it
// read), the opposite formulation of the GPU kernels, which gather.

export interface RefGeometry {
  kH: number; kW: number; sH: number; sW: number; dH: number; dW: number;
  padTop: number; padLeft: number; padBottom: number; padRight: number;
  outH: number; outW: number;
}

type Shape4 = readonly number[];

/** Input positions (flat within the plane) of window (oy, ox) in (ky, kx) order, padding skipped; `padded` counts taps inside the padded input. */
export function windowTaps(H: number, W: number, g: RefGeometry, oy: number, ox: number): { taps: number[]; padded: number } {
  const taps: number[] = [];
  let padded = 0;
  for (let ky = 0; ky < g.kH; ky++) {
    for (let kx = 0; kx < g.kW; kx++) {
      const iy = oy * g.sH - g.padTop + ky * g.dH;
      const ix = ox * g.sW - g.padLeft + kx * g.dW;
      if (iy >= -g.padTop && iy < H + g.padBottom && ix >= -g.padLeft && ix < W + g.padRight) padded++;
      if (iy >= 0 && iy < H && ix >= 0 && ix < W) taps.push(iy * W + ix);
    }
  }
  return { taps, padded };
}

function forEachWindow(shape: Shape4, g: RefGeometry, fn: (inBase: number, o: number, taps: number[], padded: number) => void): void {
  const [N, C, H, W] = shape as [number, number, number, number];
  for (let plane = 0; plane < N * C; plane++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        const { taps, padded } = windowTaps(H, W, g, oy, ox);
        fn(plane * H * W, (plane * g.outH + oy) * g.outW + ox, taps, padded);
      }
    }
  }
}

/** Max of each window; the switch is the first maximum in (ky, kx) order, or the first NaN. */
export function maxPoolRef(x: ArrayLike<number>, shape: Shape4, g: RefGeometry): { values: Float64Array; switches: Uint32Array } {
  const size = shape[0]! * shape[1]! * g.outH * g.outW;
  const values = new Float64Array(size), switches = new Uint32Array(size);
  forEachWindow(shape, g, (base, o, taps) => {
    let best = taps[0]!;
    for (const t of taps) {
      const v = x[base + t]!, b = x[base + best]!;
      if (Number.isNaN(v)) { best = t; break; }
      if (v > b) best = t;
    }
    values[o] = x[base + best]!;
    switches[o] = best;
  });
  return { values, switches };
}

/** Unpooling by scattering: every output sends g to the position its switch names. */
export function unpoolRef(gOut: ArrayLike<number>, switches: ArrayLike<number>, shape: Shape4, outH: number, outW: number): Float64Array {
  const [N, C, H, W] = shape as [number, number, number, number];
  const dx = new Float64Array(N * C * H * W);
  for (let o = 0; o < N * C * outH * outW; o++) {
    const plane = Math.floor(o / (outH * outW));
    dx[plane * H * W + switches[o]!]! += gOut[o]!;
  }
  return dx;
}

export function avgPoolRef(x: ArrayLike<number>, shape: Shape4, g: RefGeometry, countIncludePad: boolean): Float64Array {
  const y = new Float64Array(shape[0]! * shape[1]! * g.outH * g.outW);
  forEachWindow(shape, g, (base, o, taps, padded) => {
    let sum = 0;
    for (const t of taps) sum += x[base + t]!;
    y[o] = sum / (countIncludePad ? padded : taps.length);
  });
  return y;
}

export function avgPoolBackwardRef(gOut: ArrayLike<number>, shape: Shape4, g: RefGeometry, countIncludePad: boolean): Float64Array {
  const dx = new Float64Array(shape[0]! * shape[1]! * shape[2]! * shape[3]!);
  forEachWindow(shape, g, (base, o, taps, padded) => {
    const share = gOut[o]! / (countIncludePad ? padded : taps.length);
    for (const t of taps) dx[base + t]! += share;
  });
  return dx;
}

/** Float64 dot product. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`dot: lengths ${a.length} and ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Central differences of a scalar function of x, in float64. */
export function numericGradient(f: (x: Float64Array) => number, x: ArrayLike<number>, h: number): Float64Array {
  const xd = Float64Array.from(x);
  const grad = new Float64Array(xd.length);
  for (let i = 0; i < xd.length; i++) {
    const keep = xd[i]!;
    xd[i] = keep + h; const up = f(xd);
    xd[i] = keep - h; const down = f(xd);
    xd[i] = keep;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

/**
 * Geometry cases shared by the pooling tests. The expected sizes and pads are
 * worked out by hand from the formulas (floor/ceil of (in + pads - effective
 * kernel) / stride + 1; 'same' = ceil(in / stride) with the odd pad after).
 */
export interface PoolCase {
  name: string;
  shape: [number, number, number, number];
  attrs: {
    kernel: number | [number, number]; stride?: number | [number, number];
    padding?: 'valid' | 'same' | [number, number, number, number]; dilation?: number | [number, number]; ceilMode?: boolean;
  };
  geom: RefGeometry;
}

function geom(k: [number, number], s: [number, number], d: [number, number], pads: [number, number, number, number], out: [number, number]): RefGeometry {
  return {
    kH: k[0], kW: k[1], sH: s[0], sW: s[1], dH: d[0], dW: d[1],
    padTop: pads[0], padLeft: pads[1], padBottom: pads[2], padRight: pads[3], outH: out[0], outW: out[1],
  };
}

export const POOL_CASES: PoolCase[] = [
  { name: '2x2 s2', shape: [2, 3, 8, 6], attrs: { kernel: 2 }, geom: geom([2, 2], [2, 2], [1, 1], [0, 0, 0, 0], [4, 3]) },
  { name: '2x2 s2 odd sizes (last row/col dropped)', shape: [1, 2, 7, 9], attrs: { kernel: 2, stride: 2 }, geom: geom([2, 2], [2, 2], [1, 1], [0, 0, 0, 0], [3, 4]) },
  { name: 'ZFNet 3x3 s2 overlapping', shape: [2, 3, 13, 11], attrs: { kernel: 3, stride: 2 }, geom: geom([3, 3], [2, 2], [1, 1], [0, 0, 0, 0], [6, 5]) },
  { name: '3x3 s2 symmetric pad 1', shape: [1, 4, 9, 10], attrs: { kernel: 3, stride: 2, padding: [1, 1, 1, 1] }, geom: geom([3, 3], [2, 2], [1, 1], [1, 1, 1, 1], [5, 5]) },
  { name: '3x3 s2 asymmetric pad [0,1,2,1]', shape: [2, 2, 8, 7], attrs: { kernel: 3, stride: 2, padding: [0, 1, 2, 1] }, geom: geom([3, 3], [2, 2], [1, 1], [0, 1, 2, 1], [4, 4]) },
  { name: '3x3 dilation 2 stride 1', shape: [1, 3, 11, 10], attrs: { kernel: 3, stride: 1, dilation: 2 }, geom: geom([3, 3], [1, 1], [2, 2], [0, 0, 0, 0], [7, 6]) },
  { name: '3x3 dilation 2 stride 2 pad 2', shape: [2, 2, 9, 10], attrs: { kernel: 3, stride: 2, dilation: 2, padding: [2, 2, 2, 2] }, geom: geom([3, 3], [2, 2], [2, 2], [2, 2, 2, 2], [5, 5]) },
  { name: '3x3 s2 ceilMode (extra partial window)', shape: [2, 2, 10, 8], attrs: { kernel: 3, stride: 2, ceilMode: true }, geom: geom([3, 3], [2, 2], [1, 1], [0, 0, 0, 0], [5, 4]) },
  { name: '2x2 s2 pad 1 ceilMode (window starting in the end padding dropped)', shape: [1, 2, 5, 6], attrs: { kernel: 2, stride: 2, padding: [1, 1, 1, 1], ceilMode: true }, geom: geom([2, 2], [2, 2], [1, 1], [1, 1, 1, 1], [3, 4]) },
  { name: '3x3 s2 pad 1 ceilMode (last window runs past the padding)', shape: [1, 2, 6, 7], attrs: { kernel: 3, stride: 2, padding: [1, 1, 1, 1], ceilMode: true }, geom: geom([3, 3], [2, 2], [1, 1], [1, 1, 1, 1], [4, 4]) },
  { name: "'same' 3x3 s2", shape: [2, 3, 9, 8], attrs: { kernel: 3, stride: 2, padding: 'same' }, geom: geom([3, 3], [2, 2], [1, 1], [1, 0, 1, 1], [5, 4]) },
  { name: "'same' 2x2 s1", shape: [1, 2, 5, 7], attrs: { kernel: 2, stride: 1, padding: 'same' }, geom: geom([2, 2], [1, 1], [1, 1], [0, 0, 1, 1], [5, 7]) },
  { name: 'kernel [2,3] stride [1,2]', shape: [1, 3, 6, 9], attrs: { kernel: [2, 3], stride: [1, 2] }, geom: geom([2, 3], [1, 2], [1, 1], [0, 0, 0, 0], [5, 4]) },
  { name: 'more outputs than a workgroup, 3x3 s2 pad 1', shape: [2, 5, 33, 31], attrs: { kernel: 3, stride: 2, padding: [1, 1, 1, 1] }, geom: geom([3, 3], [2, 2], [1, 1], [1, 1, 1, 1], [17, 16]) },
];
