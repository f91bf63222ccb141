// Where the cells of an occlusion map belong on the image: the value at grid
// position (r, c) was measured with the square's top-left corner at
// (r * stride, c * stride), so it is drawn as a stride x stride cell centred
// on the square's centre. Cells then tile the image without gaps or overlap.

export interface OcclusionGrid { rows: number; cols: number; size: number; stride: number }

/** The image area (pixels, possibly fractional) covered by the grid's cells: its top-left cell and its extent. */
export function occlusionMapBox(grid: OcclusionGrid): { top: number; left: number; width: number; height: number } {
  const inset = (grid.size - grid.stride) / 2;
  return { top: inset, left: inset, width: grid.cols * grid.stride, height: grid.rows * grid.stride };
}

