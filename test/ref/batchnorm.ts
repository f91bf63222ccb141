// Float64 references for inference batch normalisation, unfolded.
export interface BatchNormRefWeights { scale: ArrayLike<number>; bias: ArrayLike<number>; mean: ArrayLike<number>; variance: ArrayLike<number>; epsilon?: number }

function channelOf(i: number, shape: readonly number[]): number {
  const plane = shape.slice(2).reduce((p, d) => p * d, 1);
  return Math.floor(i / plane) % shape[1]!;
}

/** y = scale * (x - mean) / sqrt(var + eps) + bias, channel on axis 1. */
export function batchNormRef(x: ArrayLike<number>, shape: readonly number[], w: BatchNormRefWeights): Float64Array {
  const eps = w.epsilon ?? 1e-5;
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = channelOf(i, shape);
    y[i] = (w.scale[c]! * (x[i]! - w.mean[c]!)) / Math.sqrt(w.variance[c]! + eps) + w.bias[c]!;
  }
  return y;
}

/** dy/dx = scale / sqrt(var + eps), so the gradient is g times that. */
export function batchNormBackwardRef(g: ArrayLike<number>, shape: readonly number[], w: BatchNormRefWeights): Float64Array {
  const eps = w.epsilon ?? 1e-5;
  const dx = new Float64Array(g.length);
  for (let i = 0; i < g.length; i++) {
    const c = channelOf(i, shape);
    dx[i] = (g[i]! * w.scale[c]!) / Math.sqrt(w.variance[c]! + eps);
  }
  return dx;
}
