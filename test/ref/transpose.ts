// Float64 reference for an axis permutation: output coordinates c map to the
// input coordinates with x_coord[perm[k]] = c[k].

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export function transposeRef(x: ArrayLike<number>, shape: readonly number[], perm: readonly number[]): { y: Float64Array; shape: number[] } {
  const outShape = perm.map((a) => shape[a]!);
  const y = new Float64Array(size(shape));
  const c = new Array<number>(shape.length);
  for (let i = 0; i < y.length; i++) {
    let rem = i;
    for (let k = outShape.length - 1; k >= 0; k--) { c[k] = rem % outShape[k]!; rem = Math.floor(rem / outShape[k]!); }
    const src = new Array<number>(shape.length);
    perm.forEach((a, k) => { src[a] = c[k]!; });
    let idx = 0;
    for (let k = 0; k < shape.length; k++) idx = idx * shape[k]! + src[k]!;
    y[i] = x[idx]!;
  }
  return { y, shape: outShape };
}
