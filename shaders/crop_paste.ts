import { defineParams } from './params.js';
import { defineKernel, dispatch1d, flatMain, kernelHeader, read, readWrite, type KernelProgram } from './kernel.js';

// The one kernel of incremental occlusion (src/analysis/incremental_*.ts).
// An occluded copy of an image differs from the original only inside a
// window (the occluder, then its receptive window at each later layer); the
// incremental forward keeps that window per copy (a "patch", [N, C, pH, pW],
// each copy with its own origin in the map) and the original's full map.
// This kernel builds, per copy n, a crop [C, cropH, cropW] of the copy's map
// starting at (cropTop[n], cropLeft[n]) (may start before the map or end past
// it): the patch where the crop meets the patch, the original elsewhere, and
// `padValue` outside the map (the layer's padding: 0 for a convolution, the
// lowest float for max pooling). A crop of the whole map pastes the patch
// into a copy of the original (where a layer needs the full map).
//
// Origins are i32 pairs in a table written once per batch: copy n's patch
// origin at patchAt + 2n, its crop origin at cropAt + 2n. With `constant`
// the patch is the occluder itself: `fill` everywhere inside it, no buffer.
// Output channel c reads channel c + channelOffset of the source (a crop of
// one channel: map (a)'s feature plane).

export const WORKGROUP = 256;

export const cropPasteParams = defineParams({
  count: 'u32', channels: 'u32', cropH: 'u32', cropW: 'u32',
  srcChannels: 'u32', mapH: 'u32', mapW: 'u32', channelOffset: 'u32',
  patchH: 'u32', patchW: 'u32', patchAt: 'u32', cropAt: 'u32',
  padValue: 'f32', fill: 'f32',
});

const cropPasteKernel = defineKernel('crop-paste', ({ constant }: { constant: boolean }) => `
${kernelHeader(cropPasteParams, [read('original'), read('origins', 'array<i32>'), readWrite('dst'), !constant && read('window')])}
${flatMain(WORKGROUP, 'p.count', `  let x = i32(i % p.cropW);
  let y = i32((i / p.cropW) % p.cropH);
  let c = (i / (p.cropW * p.cropH)) % p.channels;
  let n = i / (p.cropW * p.cropH * p.channels);
  let mapY = origins[p.cropAt + 2u * n] + y;
  let mapX = origins[p.cropAt + 2u * n + 1u] + x;
  if (mapY < 0 || mapX < 0 || mapY >= i32(p.mapH) || mapX >= i32(p.mapW)) {
    dst[i] = p.padValue;
    return;
  }
  let sc = c + p.channelOffset;
  let py = mapY - origins[p.patchAt + 2u * n];
  let px = mapX - origins[p.patchAt + 2u * n + 1u];
  if (py >= 0 && px >= 0 && py < i32(p.patchH) && px < i32(p.patchW)) {
    dst[i] = ${constant ? 'p.fill' : 'window[((n * p.srcChannels + sc) * p.patchH + u32(py)) * p.patchW + u32(px)]'};
    return;
  }
  dst[i] = original[(sc * p.mapH + u32(mapY)) * p.mapW + u32(mapX)];`)}
`);

/** Buffers [original, origins, dst, window (unless `constant`)]. */
export function cropPasteProgram(constant: boolean, params: ArrayBuffer, count: number): KernelProgram {
  return cropPasteKernel.program({ constant }, params, dispatch1d(count, WORKGROUP), 'cropPaste');
}
