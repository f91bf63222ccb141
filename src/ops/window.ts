import {
  WORKGROUP, cropWindowShader, placeWindowShader, rectifyWindowShader, transposeWindowParams, transposeWindowShader,
  unpoolWindowParams, unpoolWindowShader, windowParams, type WindowRule,
} from '../../shaders/window.js';
import { dispatch1d, type Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';
import { imageShape, poolGeometry, type Pool2dAttrs } from './pool_geometry.js';

export type { WindowRule };

/**
 * Where a projection window lies in the map of one level, per axis (rows,
 * columns): its static `size`, and its origin `seed * a - b` for the seed
 * position (y, x) of each image. The origin may be negative and the window
 * may stick out of the map: positions outside hold 0.
 */
export interface WindowLevel {
  size: [number, number];
  a: [number, number];
  b: [number, number];
}

/** The seed of each image: u32 [N] flat y * width + x in the top layer's map (selectSeed's `chosen`). */
export interface SeedGrid {
  chosen: Tensor;
  width: number;
}

/** The window of the top layer itself: 1x1 at the seed. */
export const SEED_LEVEL: WindowLevel = { size: [1, 1], a: [1, 1], b: [0, 0] };

/**
 * The window of a sliding-window layer's input that its output window
 * reaches: kernel k (dilated span), stride s, leading pad `pad`, per axis.
 * A transposed convolution ('valid', no output padding) of the output window
 * yields exactly this window.
 */
export function inputWindow(out: WindowLevel, k: [number, number], stride: [number, number], dilation: [number, number], pad: [number, number]): WindowLevel {
  const axis = (i: 0 | 1) => ({
    size: (out.size[i] - 1) * stride[i] + (k[i] - 1) * dilation[i] + 1,
    a: out.a[i] * stride[i],
    b: out.b[i] * stride[i] + pad[i],
  });
  const [r, c] = [axis(0), axis(1)];
  return { size: [r.size, c.size], a: [r.a, c.a], b: [r.b, c.b] };
}

/** Whether the window of every possible seed of a top map `topH` x `topW` lies inside an `h` x `w` map. */
export function windowAlwaysInside(level: WindowLevel, topH: number, topW: number, h: number, w: number): boolean {
  const inside = (i: 0 | 1, top: number, size: number) => -level.b[i] >= 0 && (top - 1) * level.a[i] - level.b[i] + level.size[i] <= size;
  return inside(0, topH, h) && inside(1, topW, w);
}

function windowValues(seed: SeedGrid, level: WindowLevel, c: number, h: number, w: number, total: number) {
  return {
    total, C: c, winH: level.size[0], winW: level.size[1], H: h, W: w, topW: seed.width,
    aH: level.a[0], bH: level.b[0], aW: level.a[1], bW: level.b[1],
  };
}

function checkSeeds(op: string, seed: SeedGrid, n: number): void {
  if (seed.chosen.dtype !== 'u32' || seed.chosen.size !== n) {
    throw new ShapeError(`${op}: the seeds [${seed.chosen.shape}] (${seed.chosen.dtype}) must be u32, one per image of the batch of ${n}`);
  }
}

/** The window of `full` [N, C, H, W] at `level`: [N, C, size[0], size[1]], zeros outside the map. */
export function cropWindow(rec: Recorder, full: Tensor, level: WindowLevel, seed: SeedGrid): Tensor {
  const [n, c, h, w] = imageShape(full, 'cropWindow');
  checkSeeds('cropWindow', seed, n);
  const win = rec.tensor([n, c, ...level.size], 'crop window');
  const total = win.size;
  rec.dispatch({
    name: 'crop window', key: 'window:crop', shader: cropWindowShader,
    params: windowParams.pack(windowValues(seed, level, c, h, w, total)),
    buffers: [seed.chosen, full, win], dispatch: dispatch1d(total, WORKGROUP),
  });
  return win;
}

/**
 * The ReLU rule `rule` on a window `g` at `level` of the map whose forward
 * output is `y` (full size); 'mask' only zeroes what lies outside the map.
 */
export function rectifyWindow(rec: Recorder, g: Tensor, y: Tensor, level: WindowLevel, seed: SeedGrid, rule: WindowRule): Tensor {
  const [n, c, h, w] = imageShape(y, 'rectifyWindow', 'forward output');
  checkSeeds('rectifyWindow', seed, n);
  const expected = [n, c, ...level.size];
  if (g.shape.join() !== expected.join()) throw new ShapeError(`rectifyWindow: signal [${g.shape}] is not the window [${expected}] of [${y.shape}]`);
  const out = rec.tensor(g.shape, `rectify window (${rule})`);
  rec.dispatch({
    name: `rectify window (${rule})`, key: `window:rectify:${rule}`, shader: () => rectifyWindowShader(rule),
    params: windowParams.pack(windowValues(seed, level, c, h, w, out.size)),
    buffers: [seed.chosen, g, y, out], dispatch: dispatch1d(out.size, WORKGROUP),
  });
  return out;
}

/**
 * Unpooling of a window `g` at `gLevel` of the pooled map into the window at
 * `level` of the pooling's input (shape `xShape`), through the switches of the
 * forward max pooling with `attrs` (see unpool2d).
 */
export function unpoolWindow(
  rec: Recorder, g: Tensor, switches: Tensor, xShape: readonly number[], attrs: Pool2dAttrs,
  level: WindowLevel, gLevel: WindowLevel, seed: SeedGrid,
): Tensor {
  const [n, c, h, w] = imageShape(xShape, 'unpoolWindow', 'xShape');
  const geo = poolGeometry(xShape, attrs, 'unpoolWindow');
  checkSeeds('unpoolWindow', seed, n);
  const expected = [n, c, ...gLevel.size];
  if (g.shape.join() !== expected.join()) throw new ShapeError(`unpoolWindow: signal [${g.shape}] is not the window [${expected}]`);
  if (switches.dtype !== 'u32' || switches.shape.join() !== [n, c, geo.outH, geo.outW].join()) {
    throw new ShapeError(`unpoolWindow: switches [${switches.shape}] are not u32 [${[n, c, geo.outH, geo.outW]}]`);
  }
  const dx = rec.tensor([n, c, ...level.size], 'unpool window');
  rec.dispatch({
    name: 'unpool window', key: 'window:unpool', shader: unpoolWindowShader,
    params: unpoolWindowParams.pack({
      ...windowValues(seed, level, c, h, w, dx.size),
      gH: gLevel.size[0], gW: gLevel.size[1], OH: geo.outH, OW: geo.outW,
      kH: geo.kH, kW: geo.kW, sH: geo.sH, sW: geo.sW, dH: geo.dH, dW: geo.dW, padT: geo.padTop, padL: geo.padLeft,
      gaH: gLevel.a[0], gbH: gLevel.b[0], gaW: gLevel.a[1], gbW: gLevel.b[1],
    }),
    buffers: [seed.chosen, g, switches, dx], dispatch: dispatch1d(dx.size, WORKGROUP),
  });
  return dx;
}

/** A window `win` at `level` put into a zero map of `fullShape` [N, C, H, W]. */
export function placeWindow(rec: Recorder, win: Tensor, level: WindowLevel, fullShape: readonly number[], seed: SeedGrid): Tensor {
  const [n, c, h, w] = imageShape(fullShape, 'placeWindow', 'full shape');
  checkSeeds('placeWindow', seed, n);
  const expected = [n, c, ...level.size];
  if (win.shape.join() !== expected.join()) throw new ShapeError(`placeWindow: window [${win.shape}] is not [${expected}]`);
  const full = rec.tensor(fullShape, 'place window');
  rec.dispatch({
    name: 'place window', key: 'window:place', shader: placeWindowShader,
    params: windowParams.pack(windowValues(seed, level, c, h, w, full.size)),
    buffers: [seed.chosen, win, full], dispatch: dispatch1d(full.size, WORKGROUP),
  });
  return full;
}

export interface WindowConv {
  /** The conv weight [M, C/groups, kH, kW]. */
  weight: Tensor;
  stride: [number, number];
  dilation: [number, number];
  groups: number;
}

/**
 * The transposed convolution ('valid') of the window `g` at `gLevel` of a
 * conv's output map, whose forward values are `y` [N, M, OH, OW], with the
 * ReLU rule `rule` applied to every value it loads (and 0 outside the map):
 * [N, C, size] where size = (g size - 1) * stride + dilated kernel span, the
 * window of the conv's input (see inputWindow). One pass for what would be
 * rectifyWindow + conv2dTranspose.
 */
export function transposeWindow(rec: Recorder, g: Tensor, y: Tensor, gLevel: WindowLevel, seed: SeedGrid, rule: WindowRule, conv: WindowConv): Tensor {
  const [n, m, yH, yW] = imageShape(y, 'transposeWindow', 'forward output');
  checkSeeds('transposeWindow', seed, n);
  const [wM, cinPerGroup, kH, kW] = conv.weight.shape as [number, number, number, number];
  const expected = [n, m, ...gLevel.size];
  if (g.shape.join() !== expected.join()) throw new ShapeError(`transposeWindow: signal [${g.shape}] is not the window [${expected}] of [${y.shape}]`);
  if (conv.weight.shape.length !== 4 || wM !== m || m % conv.groups !== 0) {
    throw new ShapeError(`transposeWindow: weight [${conv.weight.shape}] does not map ${m} channels in ${conv.groups} groups`);
  }
  const level = inputWindow(gLevel, [kH, kW], conv.stride, conv.dilation, [0, 0]);
  const c = cinPerGroup * conv.groups;
  const out = rec.tensor([n, c, ...level.size], 'transpose window');
  rec.dispatch({
    name: `transpose window (${rule})`, key: `window:transpose:${rule}`, shader: () => transposeWindowShader(rule),
    params: transposeWindowParams.pack({
      ...windowValues(seed, level, c, 0, 0, out.size),
      gC: m, gH: gLevel.size[0], gW: gLevel.size[1], yH, yW, cinG: m / conv.groups, coutG: cinPerGroup,
      kH, kW, sH: conv.stride[0], sW: conv.stride[1], dH: conv.dilation[0], dW: conv.dilation[1],
      gaH: gLevel.a[0], gbH: gLevel.b[0], gaW: gLevel.a[1], gbW: gLevel.b[1],
    }),
    buffers: [seed.chosen, g, y, conv.weight, out], dispatch: dispatch1d(out.size, WORKGROUP),
  });
  return out;
}
