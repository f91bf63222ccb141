// Tensors drawn as pictures straight into a GPUTexture or a WebGPU canvas,
// with no readback: the normalisation statistics come from a reduction kernel
// (src/ops/image_stats.ts) recorded in the same submit, then one render pass
// draws every picture into its viewport (shaders/draw.ts). The colours are
// those of the CPU functions in src/render (projectionToImage,
// featureMapGrid, heatMapToImage, inputToImage), to within one grey level.
//
// A host that wants the numbers instead may bind a tensor's own buffer
// (`tensor.buffer`, f32 NCHW): it stays valid until `release()`, after which
// the runtime's pool hands it to the next tensor of that size.
import { drawParams, drawShader, type DrawKind } from '../../shaders/draw.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { OutOfRangeError, ShapeError, UnsupportedError } from '../gpu/errors.js';
import { imageStats } from '../ops/image_stats.js';
import { channelStats, UNIT_RANGE, type Preprocessing } from '../data/preprocessing.js';
import { HEAT_COLORMAPS, type HeatColormap } from '../render/image.js';

/** Where pictures are drawn: a texture with RENDER_ATTACHMENT usage, or a configured WebGPU canvas context. */
export type DrawTarget = GPUTexture | GPUCanvasContext;

/** Formats drawn into: what canvases use (getPreferredCanvasFormat is one of them). */
export const DRAW_TARGET_FORMATS: readonly GPUTextureFormat[] = ['rgba8unorm', 'bgra8unorm'];

/** A rectangle of the target in pixels. */
export interface Viewport { x: number; y: number; width: number; height: number }

/** What to draw; `index` is the image of the batch (default 0). */
export type Picture =
  /** A projection [N, C, H, W], as projectionToImage shows it. */
  | { kind: 'projection'; tensor: Tensor; index?: number }
  /** Feature maps [N, C, H, W] (or [N, F]: F maps of 1x1), as featureMapGrid tiles them. */
  | { kind: 'grid'; tensor: Tensor; index?: number; columns?: number; gap?: number }
  /** A map [H, W], [N, H, W] or [N, 1, H, W] (e.g. occlusion), as heatMapToImage colours it. */
  | { kind: 'heat'; tensor: Tensor; index?: number; min?: number; max?: number; colormap?: HeatColormap; alpha?: number }
  /** A model input [N, C, H, W] back to pixels, as inputToImage shows it. */
  | { kind: 'input'; tensor: Tensor; index?: number; preprocessing?: Preprocessing };

/** One picture and where it goes (default: the whole target, scaled with nearest pixels). */
export interface DrawItem { picture: Picture; viewport?: Viewport }

export interface DrawOptions {
  /** Clear the target first (default true), to this colour (default opaque black); false keeps what is there. */
  clear?: boolean | GPUColor;
}

/** A picture's size in pixels (a feature-map grid is larger than its maps). */
export function pictureSize(picture: Picture): { width: number; height: number } {
  return layout(picture).size;
}

/**
 * Records the drawing of `items` into `target` (one reduction pass per
 * picture that needs statistics, then one render pass) into an open
 * recording; nothing is read back.
 */
export function recordDraw(rec: Recorder, target: DrawTarget, items: Picture | DrawItem | readonly DrawItem[], options: DrawOptions = {}): void {
  const list = toItems(items);
  const texture = targetTexture(target);
  const plans = list.map((item) => planItem(rec, item, texture));
  const clear = options.clear ?? true;
  const pass = rec.encoder.beginRenderPass({
    label: 'draw',
    colorAttachments: [{
      view: texture.createView(),
      loadOp: clear === false ? 'load' : 'clear',
      clearValue: clear === true || clear === false ? { r: 0, g: 0, b: 0, a: 1 } : clear,
      storeOp: 'store',
    }],
  });
  for (const plan of plans) {
    const pipeline = renderPipeline(rec.runtime.device, plan.kind, texture.format, plan.colormap);
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: rec.runtime.uniform(plan.params) } },
      { binding: 1, resource: { buffer: plan.data.buffer } },
    ];
    if (plan.stats) entries.push({ binding: 2, resource: { buffer: plan.stats.buffer } });
    const { x, y, width, height } = plan.viewport;
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, rec.runtime.device.createBindGroup({ label: `draw ${plan.kind}`, layout: pipeline.getBindGroupLayout(0), entries }));
    pass.setViewport(x, y, width, height, 0, 1);
    pass.draw(3);
  }
  pass.end();
}

/** Draws `items` into `target` in one submit (see recordDraw). */
export function draw(runtime: Runtime, target: DrawTarget, items: Picture | DrawItem | readonly DrawItem[], options: DrawOptions = {}): Promise<void> {
  return runtime.run('draw', (rec) => recordDraw(rec, target, items, options));
}

// ---- planning ------------------------------------------------------------

interface Layout {
  size: { width: number; height: number };
  /** [N, C, H, W] of the tensor as the picture reads it. */
  dims: [number, number, number, number];
  index: number;
}

interface ItemPlan {
  kind: DrawKind;
  colormap: HeatColormap;
  data: Tensor;
  stats: Tensor | null;
  params: ArrayBuffer;
  viewport: Viewport;
}

function toItems(items: Picture | DrawItem | readonly DrawItem[]): readonly DrawItem[] {
  if (Array.isArray(items)) return items as readonly DrawItem[];
  return 'picture' in (items as object) ? [items as DrawItem] : [{ picture: items as Picture }];
}

function layout(picture: Picture): Layout {
  const { kind, tensor } = picture;
  tensor.assertLive(`draw ${kind}`);
  const s = tensor.shape;
  let dims: [number, number, number, number];
  if (kind === 'heat') {
    const ok = s.length === 2 || s.length === 3 || (s.length === 4 && s[1] === 1);
    if (!ok) throw new ShapeError(`draw heat: the map must be [H, W], [N, H, W] or [N, 1, H, W], got [${s}]`);
    dims = s.length === 2 ? [1, 1, s[0]!, s[1]!] : [s[0]!, 1, s.at(-2)!, s.at(-1)!];
  } else if (kind === 'grid' && s.length === 2) {
    dims = [s[0]!, s[1]!, 1, 1];
  } else {
    if (s.length !== 4 && s.length !== 3) throw new ShapeError(`draw ${kind}: the tensor must be [N, C, H, W] or [C, H, W], got [${s}]`);
    dims = (s.length === 4 ? [...s] : [1, ...s]) as [number, number, number, number];
  }
  const [n, c, h, w] = dims;
  if (kind === 'input' && c !== 1 && c !== 3) throw new ShapeError(`draw input: ${c} channels; only 1 (grey) or 3 (colour) can be shown`);
  const index = picture.index ?? 0;
  if (!Number.isInteger(index) || index < 0 || index >= n) throw new OutOfRangeError(`draw ${kind}: image ${index} of a batch of ${n}`);
  if (kind !== 'grid') return { size: { width: w, height: h }, dims, index };
  const gap = picture.gap ?? 1;
  const columns = picture.columns ?? Math.ceil(Math.sqrt(c));
  if (!Number.isInteger(gap) || gap < 0) throw new OutOfRangeError(`draw grid: gap ${gap} must be an integer >= 0`);
  if (!Number.isInteger(columns) || columns < 1) throw new OutOfRangeError(`draw grid: columns ${columns} must be an integer >= 1`);
  const rows = Math.ceil(c / columns);
  return { size: { width: columns * (w + gap) + gap, height: rows * (h + gap) + gap }, dims, index };
}

function planItem(rec: Recorder, item: DrawItem, texture: GPUTexture): ItemPlan {
  const { picture } = item;
  const { size, dims: [, c, h, w], index } = layout(picture);
  const viewport = item.viewport ?? { x: 0, y: 0, width: texture.width, height: texture.height };
  checkViewport(viewport, texture);
  const image = c * h * w;
  const statsRows = picture.kind === 'grid' ? c : 1;
  const stats = picture.kind === 'input' ? null
    : rec.temp(imageStats(rec, picture.tensor, statsRows, image / statsRows, index * image));
  const heat = picture.kind === 'heat' ? picture : null;
  const fixedRange = heat && (heat.min !== undefined || heat.max !== undefined);
  const p = picture.kind === 'input' ? picture.preprocessing ?? UNIT_RANGE : UNIT_RANGE;
  const { mean, std } = channelStats(p, picture.kind === 'input' ? c : 1);
  const alpha = heat?.alpha ?? 255;
  if (!(alpha >= 0 && alpha <= 255)) throw new OutOfRangeError(`draw heat: alpha ${alpha} must be in 0..255`);
  const colormap = heat?.colormap ?? 'jet';
  if (!(colormap in HEAT_COLORMAPS)) throw new OutOfRangeError(`draw heat: unknown colormap "${String(colormap)}" (${Object.keys(HEAT_COLORMAPS).join(', ')})`);
  if (fixedRange && (heat.min === undefined || heat.max === undefined)) {
    throw new OutOfRangeError('draw heat: give both min and max, or neither (the map\'s own range)');
  }
  const grid = picture.kind === 'grid' ? picture : null;
  const params = drawParams.pack({
    imgW: size.width, imgH: size.height,
    vpX: viewport.x, vpY: viewport.y, vpW: viewport.width, vpH: viewport.height,
    base: index * image, statsBase: 0, channels: c, planeH: h, planeW: w,
    columns: grid ? grid.columns ?? Math.ceil(Math.sqrt(c)) : 1, gap: grid ? grid.gap ?? 1 : 0,
    fixedRange: fixedRange ? 1 : 0, lo: heat?.min ?? 0, hi: heat?.max ?? 0, alpha: alpha / 255,
    scale: p.scale, mean0: mean[0]!, mean1: mean[1] ?? 0, mean2: mean[2] ?? 0,
    std0: std[0]!, std1: std[1] ?? 1, std2: std[2] ?? 1, bgr: p.channelOrder === 'bgr' ? 1 : 0,
  });
  return { kind: picture.kind, colormap, data: picture.tensor, stats, params, viewport };
}

function checkViewport(v: Viewport, texture: GPUTexture): void {
  const ok = [v.x, v.y, v.width, v.height].every(Number.isFinite) && v.x >= 0 && v.y >= 0 && v.width > 0 && v.height > 0
    && v.x + v.width <= texture.width && v.y + v.height <= texture.height;
  if (!ok) {
    throw new OutOfRangeError(`draw: viewport (${v.x}, ${v.y}) ${v.width}x${v.height} is not inside the ${texture.width}x${texture.height} target`);
  }
}

// ---- targets and pipelines ---------------------------------------------------

function targetTexture(target: DrawTarget): GPUTexture {
  let texture: GPUTexture;
  if ('getCurrentTexture' in target) {
    try {
      texture = target.getCurrentTexture();
    } catch (e) {
      throw new UnsupportedError(`draw: the canvas context has no texture to draw into (configure it with the runtime's device first): ${(e as Error).message}`);
    }
  } else {
    texture = target;
  }
  const name = `texture "${texture.label}" (${texture.format})`;
  if (!DRAW_TARGET_FORMATS.includes(texture.format)) {
    throw new UnsupportedError(`draw: cannot draw into ${name}; use one of ${DRAW_TARGET_FORMATS.join(', ')}`);
  }
  if (!(texture.usage & GPUTextureUsage.RENDER_ATTACHMENT)) {
    throw new UnsupportedError(`draw: ${name} was created without GPUTextureUsage.RENDER_ATTACHMENT, which drawing into it needs`);
  }
  return texture;
}

/** Render pipelines per device: one per picture kind, target format and colour map. */
const pipelines = new WeakMap<GPUDevice, Map<string, GPURenderPipeline>>();

function renderPipeline(device: GPUDevice, kind: DrawKind, format: GPUTextureFormat, colormap: HeatColormap): GPURenderPipeline {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, (cache = new Map()));
  const key = `${kind}|${format}|${kind === 'heat' ? colormap : ''}`;
  let pipeline = cache.get(key);
  if (!pipeline) {
    const module = device.createShaderModule({ label: `draw ${kind}`, code: drawShader(kind, kind === 'heat' ? HEAT_COLORMAPS[colormap] : []) });
    pipeline = device.createRenderPipeline({
      label: `draw ${key}`,
      layout: 'auto',
      vertex: { module, entryPoint: 'vs' },
      fragment: { module, entryPoint: 'fs', targets: [{ format }] },
      primitive: { topology: 'triangle-list' },
    });
    cache.set(key, pipeline);
  }
  return pipeline;
}
