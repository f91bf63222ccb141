import {
  WORKGROUP, cropWindowKernel, placeWindowKernel, rectifyWindowKernel, ruleReadsForward, transposeWindowKernel, transposeWindowParams,
  unpoolWindowKernel, unpoolWindowParams, windowParams, type UnpoolWalk, type WindowRule,
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
    ...cropWindowKernel.program(undefined, windowParams.pack(windowValues(seed, level, c, h, w, total)), dispatch1d(total, WORKGROUP), 'crop window'),
    buffers: [seed.chosen, full, win],
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
    ...rectifyWindowKernel.program({ rule }, windowParams.pack(windowValues(seed, level, c, h, w, out.size)), dispatch1d(out.size, WORKGROUP), `rectify window (${rule})`),
    buffers: [seed.chosen, g, y, out],
  });
  return out;
}

/**
 * Where a signal window is a max pooling's output, which a step below reads
 * unpooled: the window `level` of the pooled map that the signal holds, the
 * forward pooling's switches u32 [N, C, OH, OW] and attributes.
 */
export interface WindowUnpool {
  switches: Tensor;
  attrs: Pool2dAttrs;
  level: WindowLevel;
}

/** The unpool fields of the window kernels' params: the pooled window, the pooled map, the pooling's geometry. */
function unpoolValues(unpool: WindowUnpool, xShape: readonly number[], op: string, signal: Tensor) {
  const [n, c] = imageShape(xShape, op, 'pooled input');
  const geo = poolGeometry(xShape, unpool.attrs, op);
  const expected = [n, c, ...unpool.level.size];
  if (signal.shape.join() !== expected.join()) throw new ShapeError(`${op}: signal [${signal.shape}] is not the window [${expected}]`);
  const { switches } = unpool;
  if (switches.dtype !== 'u32' || switches.shape.join() !== [n, c, geo.outH, geo.outW].join()) {
    throw new ShapeError(`${op}: switches [${switches.shape}] are not u32 [${[n, c, geo.outH, geo.outW]}]`);
  }
  const q = unpool.level;
  return {
    walk: (geo.kH === geo.sH && geo.kW === geo.sW && geo.dH === 1 && geo.dW === 1 ? 'tiled' : 'general') as UnpoolWalk,
    qH: q.size[0], qW: q.size[1], OH: geo.outH, OW: geo.outW,
    pkH: geo.kH, pkW: geo.kW, psH: geo.sH, psW: geo.sW, pdH: geo.dH, pdW: geo.dW, ppadT: geo.padTop, ppadL: geo.padLeft,
    qaH: q.a[0], qbH: q.b[0], qaW: q.a[1], qbW: q.b[1],
  };
}

/** The unpool fields where a filter step reads its signal directly. */
const NO_UNPOOL = {
  qH: 0, qW: 0, OH: 0, OW: 0, pkH: 0, pkW: 0, psH: 1, psW: 1, pdH: 1, pdW: 1, ppadT: 0, ppadL: 0, qaH: 0, qbH: 0, qaW: 0, qbW: 0,
};

/**
 * Unpooling of a window `g` at `gLevel` of the pooled map into the window at
 * `level` of the pooling's input (shape `xShape`), through the switches of the
 * forward max pooling with `attrs` (see unpool2d). With a `rule` (and `y`,
 * the forward output of the layer below, of shape `xShape`), that layer's ReLU
 * rule is applied in the same pass: one pass for unpool + rectify.
 */
export function unpoolWindow(
  rec: Recorder, g: Tensor, switches: Tensor, xShape: readonly number[], attrs: Pool2dAttrs,
  level: WindowLevel, gLevel: WindowLevel, seed: SeedGrid, rectify?: { rule: WindowRule; y: Tensor },
): Tensor {
  return recordUnpool(rec, 'unpool window', g, switches, xShape, attrs, level, gLevel, seed, rectify);
}

function recordUnpool(
  rec: Recorder, what: string, g: Tensor, switches: Tensor, xShape: readonly number[], attrs: Pool2dAttrs,
  level: WindowLevel, gLevel: WindowLevel, seed: SeedGrid, rectify?: { rule: WindowRule; y: Tensor },
): Tensor {
  const [n, c, h, w] = imageShape(xShape, 'unpoolWindow', 'xShape');
  checkSeeds('unpoolWindow', seed, n);
  const { walk, ...pooled } = unpoolValues({ switches, attrs, level: gLevel }, xShape, 'unpoolWindow', g);
  const rule = rectify?.rule ?? 'mask';
  const y = ruleReadsForward(rule) ? rectify!.y : null;
  if (y && y.shape.join() !== xShape.join()) throw new ShapeError(`unpoolWindow: forward output [${y.shape}] is not the pooled input [${xShape}]`);
  const name = rule === 'mask' ? what : `${what} (${rule})`;
  const dx = rec.tensor([n, c, ...level.size], name);
  rec.dispatch({
    ...unpoolWindowKernel.program({ rule, walk }, unpoolWindowParams.pack({ ...windowValues(seed, level, c, h, w, dx.size), ...pooled }), dispatch1d(dx.size, WORKGROUP), name),
    buffers: y ? [seed.chosen, g, switches, y, dx] : [seed.chosen, g, switches, dx],
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
    ...placeWindowKernel.program(undefined, windowParams.pack(windowValues(seed, level, c, h, w, full.size)), dispatch1d(full.size, WORKGROUP), 'place window'),
    buffers: [seed.chosen, win, full],
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
 * rectifyWindow + conv2dTranspose. With `unpool`, `g` is the window
 * `unpool.level` of the max pooling that read the conv's output, and each load
 * unpools it first: one pass for unpoolWindow + rectifyWindow + conv2dTranspose.
 */
export function transposeWindow(
  rec: Recorder, g: Tensor, y: Tensor, gLevel: WindowLevel, seed: SeedGrid, rule: WindowRule, conv: WindowConv, unpool?: WindowUnpool,
): Tensor {
  const [n, m, yH, yW] = imageShape(y, 'transposeWindow', 'forward output');
  checkSeeds('transposeWindow', seed, n);
  const [wM, cinPerGroup, kH, kW] = conv.weight.shape as [number, number, number, number];
  const { walk, ...pooled } = unpool ? unpoolValues(unpool, y.shape, 'transposeWindow', g) : { walk: false as const, ...NO_UNPOOL };
  const expected = [n, m, ...gLevel.size];
  if (!unpool && g.shape.join() !== expected.join()) throw new ShapeError(`transposeWindow: signal [${g.shape}] is not the window [${expected}] of [${y.shape}]`);
  if (conv.weight.shape.length !== 4 || wM !== m || m % conv.groups !== 0) {
    throw new ShapeError(`transposeWindow: weight [${conv.weight.shape}] does not map ${m} channels in ${conv.groups} groups`);
  }
  const level = inputWindow(gLevel, [kH, kW], conv.stride, conv.dilation, [0, 0]);
  const c = cinPerGroup * conv.groups;
  const out = rec.tensor([n, c, ...level.size], 'transpose window');
  const params = transposeWindowParams.pack({
    ...windowValues(seed, level, c, 0, 0, out.size),
    gC: m, gH: gLevel.size[0], gW: gLevel.size[1], yH, yW, cinG: m / conv.groups, coutG: cinPerGroup,
    kH, kW, sH: conv.stride[0], sW: conv.stride[1], dH: conv.dilation[0], dW: conv.dilation[1],
    gaH: gLevel.a[0], gbH: gLevel.b[0], gaW: gLevel.a[1], gbW: gLevel.b[1],
    ...pooled,
  });
  const name = `transpose window (${unpool ? 'unpool, ' : ''}${rule})`;
  rec.dispatch({
    ...transposeWindowKernel.program({ rule, unpool: walk }, params, dispatch1d(out.size, WORKGROUP), name),
    buffers: unpool ? [seed.chosen, g, unpool.switches, y, conv.weight, out] : [seed.chosen, g, y, conv.weight, out],
  });
  return out;
}

/**
 * Dense unpooling with the ReLU rule of the layer below in one pass:
 * unpool2d(g) through the switches of the max pooling with `attrs`, then the
 * rule `rule` on `y`, the pooling's input (the rectified layer's forward
 * output). The window kernel on a window that is the whole map.
 */
export function unpoolRectify(rec: Recorder, g: Tensor, switches: Tensor, attrs: Pool2dAttrs, y: Tensor, rule: WindowRule): Tensor {
  const [n, , h, w] = imageShape(y, 'unpoolRectify', 'forward output');
  const geo = poolGeometry(y.shape, attrs, 'unpoolRectify');
  const whole = (size: [number, number]): WindowLevel => ({ size, a: [0, 0], b: [0, 0] });
  // Origins are 0 whatever the seed: any u32 per image does.
  const chosen = rec.temp(rec.runtime.createTensor([n], new Uint32Array(n), 'u32', 'whole-map seeds'));
  return recordUnpool(rec, 'unpool + rule', g, switches, y.shape, attrs, whole([h, w]), whole([geo.outH, geo.outW]), { chosen, width: 1 }, { rule, y });
}
