// Float64 references for concatenation along an axis and its inverse, the
// slice: element (outer, row, inner) of part j is element
// (outer, offset_j + row, inner) of the whole.

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export function concatRef(xs: ReadonlyArray<ArrayLike<number>>, shapes: ReadonlyArray<readonly number[]>, axis: number): { y: Float64Array; shape: number[] } {
  const rows = shapes.reduce((s, sh) => s + sh[axis]!, 0);
  const shape = shapes[0]!.map((d, k) => (k === axis ? rows : d));
  const outer = size(shape.slice(0, axis)), inner = size(shape.slice(axis + 1));
  const y = new Float64Array(size(shape));
  let offset = 0;
  xs.forEach((x, j) => {
    const len = shapes[j]![axis]!;
    for (let o = 0; o < outer; o++) {
      for (let r = 0; r < len; r++) {
        for (let k = 0; k < inner; k++) y[(o * rows + offset + r) * inner + k] = x[(o * len + r) * inner + k]!;
      }
    }
    offset += len;
  });
  return { y, shape };
}

export function sliceRef(x: ArrayLike<number>, shape: readonly number[], axis: number, start: number, length: number): Float64Array {
  const rows = shape[axis]!;
  const outer = size(shape.slice(0, axis)), inner = size(shape.slice(axis + 1));
  const y = new Float64Array(outer * length * inner);
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < length; r++) {
      for (let k = 0; k < inner; k++) y[(o * length + r) * inner + k] = x[(o * rows + start + r) * inner + k]!;
    }
  }
  return y;
}
