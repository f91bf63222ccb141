// Float64 references for 2-D padding: output (oy, ox) shows input position
// (oy - top, ox - left) mapped back into the input by the mode. The backward
// reference scatters each output's signal to the input it showed.

export type RefPadMode = 'constant' | 'reflect' | 'edge';

/** The input index shown at padded position q of an axis of n, or -1 for the constant. */
function sourceIndex(q: number, n: number, mode: RefPadMode): number {
  if (q >= 0 && q < n) return q;
  if (mode === 'constant') return -1;
  if (mode === 'edge') return q < 0 ? 0 : n - 1;
  return q < 0 ? -q : 2 * (n - 1) - q;
}

function forEachOutput(shape: readonly number[], pads: readonly number[], mode: RefPadMode, fn: (o: number, src: number) => void): void {
  const [N, C, H, W] = shape as [number, number, number, number];
  const [top, left, bottom, right] = pads as [number, number, number, number];
  const OH = H + top + bottom, OW = W + left + right;
  for (let plane = 0; plane < N * C; plane++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const sy = sourceIndex(oy - top, H, mode), sx = sourceIndex(ox - left, W, mode);
        fn((plane * OH + oy) * OW + ox, sy < 0 || sx < 0 ? -1 : plane * H * W + sy * W + sx);
      }
    }
  }
}

export function padOutShape(shape: readonly number[], pads: readonly number[]): number[] {
  return [shape[0]!, shape[1]!, shape[2]! + pads[0]! + pads[2]!, shape[3]! + pads[1]! + pads[3]!];
}

export function padRef(x: ArrayLike<number>, shape: readonly number[], pads: readonly number[], mode: RefPadMode, value = 0): Float64Array {
  const out = padOutShape(shape, pads);
  const y = new Float64Array(out.reduce((a, b) => a * b));
  forEachOutput(shape, pads, mode, (o, src) => { y[o] = src < 0 ? value : x[src]!; });
  return y;
}

export function padBackwardRef(g: ArrayLike<number>, shape: readonly number[], pads: readonly number[], mode: RefPadMode): Float64Array {
  const dx = new Float64Array(shape.reduce((a, b) => a * b));
  forEachOutput(shape, pads, mode, (o, src) => { if (src >= 0) dx[src]! += g[o]!; });
  return dx;
}
