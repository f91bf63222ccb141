import {
  FIT_MODES, WORKGROUP_X, WORKGROUP_Y, imageInputParams, imageInputPipeline,
} from '../../shaders/image_input.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';
import { channelStats, UNIT_RANGE, type Preprocessing } from '../data/preprocessing.js';

export type FitMode = typeof FIT_MODES[number];

/**
 * One picture already on the GPU: a texture view of which the top-left
 * `width` x `height` texels are the picture, or an external texture (a video
 * frame, its size read in the shader).
 */
export type BoundPicture =
  | { kind: 'texture'; view: GPUTextureView; width: number; height: number }
  | { kind: 'external'; texture: GPUExternalTexture };

export interface ImageInputAttrs {
  /** The model's per-image input shape [C, H, W], C = 1 (luma) or 3. */
  shape: readonly number[];
  preprocessing?: Preprocessing;
  /** How a picture of another aspect ratio fills the output (default 'stretch'). */
  fit?: FitMode;
  /** Grey level in [0, 1] of the letterbox bars, preprocessed like any pixel (default 0). */
  fill?: number;
}

/** The checked form of ImageInputAttrs: what each dispatch's parameters are made of. */
export interface ImageInputPlan {
  channels: 1 | 3;
  height: number;
  width: number;
  fit: FitMode;
  fill: number;
  preprocessing: Preprocessing;
  mean: number[];
  std: number[];
}

/** Validates the attributes once (an ImageInput reuses the plan for every frame). */
export function planImageInput(attrs: ImageInputAttrs): ImageInputPlan {
  const { shape } = attrs;
  if (shape.length !== 3 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ShapeError(`image input: the shape must be [C, H, W] of positive integers, got [${shape}]`);
  }
  const [channels, height, width] = shape as [number, number, number];
  if (channels !== 1 && channels !== 3) {
    throw new ShapeError(`image input: a picture gives 1 (luma) or 3 (colour) channels; the shape [${shape}] has ${channels}`);
  }
  const fit = attrs.fit ?? 'stretch';
  if (!FIT_MODES.includes(fit)) throw new OutOfRangeError(`image input: fit "${String(fit)}" is not one of ${FIT_MODES.join(', ')}`);
  const fill = attrs.fill ?? 0;
  if (!Number.isFinite(fill)) throw new OutOfRangeError(`image input: fill ${fill} is not a finite number`);
  const preprocessing = attrs.preprocessing ?? UNIT_RANGE;
  const { mean, std } = channelStats(preprocessing, channels);
  return { channels, height, width, fit, fill, preprocessing, mean, std };
}

/**
 * Records one compute pass turning `pictures` into a batch [N, C, H, W] (one
 * image per picture, in order): resize, crop or letterbox, then the
 * model's preprocessing (see shaders/image_input.ts). Textures are bound
 * directly, so this pass is recorded here rather than through a Program.
 */
export function imageInput(rec: Recorder, pictures: readonly BoundPicture[], plan: ImageInputPlan): Tensor {
  if (pictures.length === 0) throw new ShapeError('image input: no pictures given');
  const { channels, height, width } = plan;
  const out = rec.tensor([pictures.length, channels, height, width], 'image input');
  const device = rec.runtime.device;
  const pass = rec.encoder.beginComputePass({ label: 'image input' });
  pictures.forEach((picture, batchIndex) => {
    const external = picture.kind === 'external';
    const { key, shader } = imageInputPipeline(external);
    const pipeline = rec.runtime.pipeline(key, shader);
    const params = imageInputParams.pack({
      outW: width, outH: height, channels, batchIndex,
      srcW: external ? 0 : picture.width, srcH: external ? 0 : picture.height,
      fit: FIT_MODES.indexOf(plan.fit), bgr: plan.preprocessing.channelOrder === 'bgr' ? 1 : 0,
      scale: plan.preprocessing.scale, fill: plan.fill,
      mean0: plan.mean[0]!, mean1: plan.mean[1] ?? 0, mean2: plan.mean[2] ?? 0,
      std0: plan.std[0]!, std1: plan.std[1] ?? 1, std2: plan.std[2] ?? 1,
    });
    const bindGroup = device.createBindGroup({
      label: `image input ${batchIndex}`,
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: rec.runtime.uniform(params) } },
        { binding: 1, resource: external ? picture.texture : picture.view },
        { binding: 2, resource: { buffer: out.buffer } },
      ],
    });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(Math.ceil(width / WORKGROUP_X), Math.ceil(height / WORKGROUP_Y), 1);
  });
  pass.end();
  return out;
}
