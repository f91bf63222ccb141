import type { Layer } from '../layers/layer.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Recorder } from '../gpu/recorder.js';
import { Tensor, shapeSize, sameShape } from '../gpu/tensor.js';
import { DestroyedError, OutOfRangeError, ShapeError } from '../gpu/errors.js';

export interface LayerInfo {
  index: number;
  name: string;
  kind: string;
  /** Per-image output shape (no batch dimension). */
  outputShape: number[];
  /** Whether deconv.project can start from this layer's output. */
  projectable: boolean;
}

export interface ModelSpec {
  /** Per-image input shape, e.g. [1, 28, 28] or [3, 224, 224]. */
  inputShape: number[];
  layers: Layer[];
}

/** A chain of layers built on one runtime; `forward` records them all into one submit. */
export class SequentialModel {
  readonly layers: readonly Layer[];
  readonly info: readonly LayerInfo[];
  readonly inputShape: readonly number[];
  #destroyed = false;

  constructor(readonly runtime: Runtime, spec: ModelSpec) {
    if (spec.layers.length === 0) throw new ShapeError('model: no layers');
    this.inputShape = [...spec.inputShape];
    this.layers = spec.layers;
    const names = new Set<string>();
    let shape = [...spec.inputShape];
    const info: LayerInfo[] = [];
    spec.layers.forEach((layer, index) => {
      if (!layer.name) layer.name = `${layer.kind.toLowerCase()}_${index}`;
      if (names.has(layer.name)) throw new ShapeError(`model: two layers are named "${layer.name}"`);
      names.add(layer.name);
      try {
        shape = layer.build(runtime, shape);
      } catch (e) {
        for (const built of spec.layers.slice(0, index + 1)) built.destroy();
        throw e;
      }
      info.push({ index, name: layer.name, kind: layer.kind, outputShape: shape, projectable: true });
    });
    this.info = info;
  }

  get outputShape(): readonly number[] { return this.info[this.info.length - 1]!.outputShape; }

  /** Resolves a layer name or index, throwing OutOfRangeError with the valid choices. */
  layerIndex(layer: number | string): number {
    if (typeof layer === 'number') {
      if (!Number.isInteger(layer) || layer < 0 || layer >= this.layers.length) {
        throw new OutOfRangeError(`layer ${layer} is out of range: the model has ${this.layers.length} layers (0..${this.layers.length - 1})`);
      }
      return layer;
    }
    const index = this.layers.findIndex((l) => l.name === layer);
    if (index < 0) throw new OutOfRangeError(`no layer is named "${layer}"; layers: ${this.layers.map((l) => l.name).join(', ')}`);
    return index;
  }

  /**
   * Runs the whole net: one command encoder, one compute pass per layer, one
   * submit. Every activation and every pool's switches stay on the GPU in the
   * result; nothing is read back unless asked. `input` is [N, ...inputShape]
   * (a Tensor is borrowed, a Float32Array is uploaded; its batch is
   * length / per-image size).
   */
  async forward(input: Tensor | Float32Array): Promise<ForwardResult> {
    if (this.#destroyed) throw new DestroyedError('forward: the model was destroyed');
    const rt = this.runtime;
    rt.assertUsable('forward');
    const perImage = shapeSize(this.inputShape);
    let x: Tensor;
    let ownsInput: boolean;
    if (input instanceof Tensor) {
      input.assertLive('forward');
      if (!sameShape(input.shape.slice(1), this.inputShape)) {
        throw new ShapeError(`forward: input is [${input.shape}], the model takes [N, ${this.inputShape}]`);
      }
      x = input;
      ownsInput = false;
    } else {
      if (input.length === 0 || input.length % perImage !== 0) {
        throw new ShapeError(`forward: input has ${input.length} values, not a multiple of one image [${this.inputShape}] = ${perImage}`);
      }
      x = rt.createTensor([input.length / perImage, ...this.inputShape], input, 'f32', 'input');
      ownsInput = true;
    }
    const rec = rt.record('forward');
    let step: ReturnType<SequentialModel['recordForward']>;
    try {
      step = this.recordForward(rec, x);
    } catch (e) {
      rec.abandon();
      if (ownsInput) x.release();
      throw e;
    }
    const { outputs, switches } = step;
    const result = new ForwardResult(this, x, ownsInput, outputs, switches);
    try {
      await rec.submit();
    } catch (e) {
      result.release();
      throw e;
    }
    return result;
  }

  /**
   * Records layers [0, end) on `x` into `rec` without submitting: what
   * forward() and a training step build on. On an exception the tensors it
   * made are released (the caller abandons the recorder).
   */
  recordForward(rec: Recorder, x: Tensor, end = this.layers.length): { outputs: Tensor[]; switches: Array<Tensor | undefined> } {
    const outputs: Tensor[] = [];
    const switches: Array<Tensor | undefined> = [];
    try {
      let h = x;
      for (const layer of this.layers.slice(0, end)) {
        const step = layer.forward(rec, h);
        outputs.push(step.output);
        switches.push(step.switches);
        h = step.output;
      }
    } catch (e) {
      for (const t of [...outputs, ...switches]) if (t && t.buffer !== x.buffer) t.release();
      throw e;
    }
    return { outputs, switches };
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const layer of this.layers) layer.destroy();
  }
}

/** What one forward pass leaves on the GPU: every layer's output and every max pool's switches. */
export class ForwardResult {
  #released = false;

  constructor(
    readonly model: SequentialModel,
    readonly input: Tensor,
    private readonly ownsInput: boolean,
    readonly activations: readonly Tensor[],
    readonly switches: ReadonlyArray<Tensor | undefined>,
  ) {}

  get batch(): number { return this.input.shape[0]!; }
  get output(): Tensor { return this.activations[this.activations.length - 1]!; }
  get released(): boolean { return this.#released; }

  /** The output of a layer (by index or name), still on the GPU. */
  activation(layer: number | string): Tensor {
    this.assertLive('activation');
    return this.activations[this.model.layerIndex(layer)]!;
  }

  /** The input of layer `index`: the previous layer's output, or the model input. */
  inputOf(index: number): Tensor {
    return index === 0 ? this.input : this.activations[index - 1]!;
  }

  /** Reads the model's final output (e.g. class probabilities) to the CPU. */
  readOutput(): Promise<Float32Array> {
    this.assertLive('readOutput');
    return this.output.read();
  }

  assertLive(operation: string): void {
    if (this.#released) throw new DestroyedError(`${operation}: this forward result was already released`);
  }

  /** Gives every buffer back to the runtime's pool. A borrowed input stays the caller's. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const t of [...this.activations, ...this.switches]) {
      if (t && (this.ownsInput || t.buffer !== this.input.buffer)) t.release();
    }
    if (this.ownsInput) this.input.release();
  }
}

export function createModel(runtime: Runtime, spec: ModelSpec): SequentialModel {
  return new SequentialModel(runtime, spec);
}
