import type { SequentialModel, ForwardResult } from '../model/sequential.js';
import type { ProjectionMode } from '../layers/layer.js';
import { selectSeed, type SeedPosition } from '../ops/select_seed.js';
import type { Tensor } from '../gpu/tensor.js';
import { DestroyedError, OutOfRangeError } from '../gpu/errors.js';

export interface ProjectOptions {
  /** Layer index or name whose activations are projected. */
  layer: number | string;
  /** Feature map (channel) of that layer; for a flat layer, the unit. */
  channel: number;
  /**
   * 'max' (default): per image, the strongest activation of the channel;
   * { y, x }: that position; an array of { y, x }: one position per image
   * of the batch; 'all': the whole feature map.
   */
  position?: 'max' | 'all' | { y: number; x: number } | ReadonlyArray<{ y: number; x: number }>;
  /** How ReLUs pass the signal back (default 'deconvnet'). */
  mode?: ProjectionMode;
  /**
   * 'activation' (default): start from the activation values, as the paper
   * does. 'one': start from 1, so mode 'gradient' gives exactly
   * d(chosen activation)/d(input) (for 'all', of their sum).
   */
  seed?: 'activation' | 'one';
}

/**
 * The DeconvNet attached to a model: maps activations of any layer back to
 * pixel space through each layer's backward rule (unpool with the recorded
 * switches, rectify, transposed convolution with the same filters).
 */
export class DeconvNet {
  constructor(readonly model: SequentialModel) {}

  /**
   * Records the seed selection and the whole backward chain into one command
   * encoder and one submit. The result stays on the GPU.
   */
  async project(fwd: ForwardResult, options: ProjectOptions): Promise<Projection> {
    fwd.assertLive('project');
    if (fwd.model !== this.model) throw new OutOfRangeError('project: the forward result comes from another model');
    const model = this.model;
    model.runtime.assertUsable('project');
    const top = model.layerIndex(options.layer);
    const mode = options.mode ?? 'deconvnet';
    if (mode !== 'deconvnet' && mode !== 'guided' && mode !== 'gradient') {
      throw new OutOfRangeError(`project: unknown mode "${String(mode)}" (deconvnet, guided or gradient)`);
    }
    const pos = options.position ?? 'max';
    const position: SeedPosition = pos === 'max' || pos === 'all' ? pos : 'at';
    const layerName = model.layers[top]!.name;

    const rec = model.runtime.record(`project ${layerName}#${options.channel}`);
    let chosen: Tensor | undefined;
    let signal: Tensor | undefined;
    try {
      const sel = selectSeed(rec, fwd.activations[top]!, {
        channel: options.channel,
        position,
        at: typeof pos === 'object' ? pos : undefined,
        one: options.seed === 'one',
      }, layerName);
      chosen = sel.chosen;
      signal = sel.seed;
      for (let i = top; i >= 0; i--) {
        const layer = model.layers[i]!;
        const next = layer.backward(rec, signal, {
          input: fwd.inputOf(i),
          output: fwd.activations[i]!,
          switches: fwd.switches[i],
        }, mode);
        // Reshapes (Flatten) hand back a view of the same buffer: keep it.
        if (next.buffer !== signal.buffer) rec.temp(signal);
        signal = next;
      }
    } catch (e) {
      rec.abandon();
      chosen?.release();
      signal?.release();
      throw e;
    }
    const projection = new Projection(signal, chosen, fwd.activations[top]!.shape);
    try {
      await rec.submit();
    } catch (e) {
      projection.release();
      throw e;
    }
    return projection;
  }
}

/** A projection to pixel space: [N, ...inputShape] on the GPU, plus which activation was chosen per image. */
export class Projection {
  constructor(
    readonly tensor: Tensor,
    private readonly chosenTensor: Tensor,
    private readonly layerShape: readonly number[],
  ) {}

  get shape(): readonly number[] { return this.tensor.shape; }

  /** The projection as a Float32Array (NCHW) with its shape. */
  async read(): Promise<{ data: Float32Array; shape: number[] }> {
    if (this.tensor.released) throw new DestroyedError('projection.read: already released');
    return { data: await this.tensor.read(), shape: [...this.tensor.shape] };
  }

  /** Per image, the (y, x) of the projected activation (null for position 'all'). */
  async positions(): Promise<Array<{ y: number; x: number } | null>> {
    const width = this.layerShape[3] ?? 1;
    const flat = await this.chosenTensor.runtime.readU32(this.chosenTensor);
    return Array.from(flat, (i) => (i === 0xffffffff ? null : { y: Math.floor(i / width), x: i % width }));
  }

  release(): void {
    this.tensor.release();
    this.chosenTensor.release();
  }
}

export function createDeconvNet(model: SequentialModel): DeconvNet {
  return new DeconvNet(model);
}
