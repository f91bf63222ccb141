import { isMerge, type AnyLayer, type Layer } from '../layers/layer.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Recorder } from '../gpu/recorder.js';
import { Tensor, shapeSize, sameShape, disposeSymbol } from '../gpu/tensor.js';
import { DestroyedError, OutOfRangeError, ShapeError, UnsupportedError } from '../gpu/errors.js';
import { convPoolPairs, recordConvPool } from './fusion.js';
import type { Conv2D } from '../layers/conv2d.js';
import type { MaxPool2D } from '../layers/maxpool2d.js';

export interface LayerInfo {
  index: number;
  name: string;
  kind: string;
  /** Per-image output shape (no batch dimension). */
  outputShape: number[];
  /** Whether deconv.project can start from this node's output: it depends on the first model input (the pixels). */
  projectable: boolean;
  /** Names of the values this node reads: model inputs or earlier nodes. */
  inputs: string[];
}

/** What forward/predict take: one input's [N, ...shape] values (a Tensor is borrowed, a Float32Array uploaded), or one per model input. */
export type ModelInputValue = Tensor | Float32Array | ReadonlyArray<Tensor | Float32Array>;

export interface PredictOptions {
  /** Which node's value to return (name or index); default the model's first output. */
  output?: number | string;
}

export interface ModelInput {
  name: string;
  /** Per-image shape, e.g. [1, 28, 28] or [3, 224, 224]. */
  shape: number[];
}

/** One node of a graph model: a layer and the names of the values it reads. */
export interface GraphNode {
  layer: AnyLayer;
  inputs: string[];
}

/**
 * A chain (`layers`) or a graph (`nodes`, in topological order). A single
 * input is `inputShape` (named 'input'); several are `inputs`, the first
 * being the pixels that projections go back to.
 */
export interface ModelSpec {
  inputShape?: number[];
  inputs?: ModelInput[];
  layers?: Layer[];
  nodes?: GraphNode[];
  /** Node names whose values are the model's outputs; default: the last node. */
  outputs?: string[];
  /**
   * true (default): a Conv2D and the 2x2 / stride 2 MaxPool2D reading it are
   * recorded as one pass where the conv runs on the GEMM core unsplit
   * (src/model/fusion.ts, docs/fusion.md); false: every node its own passes.
   * Same values either way.
   */
  fusion?: boolean;
}

/** Where a node reads a value from: a model input (-1 - k for input k) or a node index. */
type Source = number;
const inputSource = (k: number): Source => -1 - k;
const isModelInput = (s: Source) => s < 0;
const inputIndex = (s: Source) => -1 - s;

/**
 * A ConvNet as a graph of layers (a chain is the common case) built on one
 * runtime. `forward` records every node, in topological order, into one
 * command encoder and one submit; the DeconvNet walks the same graph back.
 */
export class Model {
  readonly layers: readonly AnyLayer[];
  readonly info: readonly LayerInfo[];
  readonly inputs: readonly ModelInput[];
  /** Per node, where each of its inputs comes from. */
  readonly sources: readonly (readonly Source[])[];
  /** Node indices of the model's outputs. */
  readonly outputIndices: readonly number[];
  /** True when every node reads exactly the previous node's output (what training supports). */
  readonly isChain: boolean;
  /** Conv node -> the pool node the forward may record with it as one pass. */
  readonly #convPools: ReadonlyMap<number, number>;
  #destroyed = false;

  constructor(readonly runtime: Runtime, spec: ModelSpec) {
    const { inputs, nodes } = normaliseSpec(spec);
    this.inputs = inputs;
    this.layers = nodes.map((n) => n.layer);

    const known = new Map<string, Source>();
    inputs.forEach((input, k) => {
      if (known.has(input.name)) throw new ShapeError(`model: two inputs are named "${input.name}"`);
      known.set(input.name, inputSource(k));
    });
    const shapes: number[][] = [];
    const fromPixels: boolean[] = [];
    const shapeOf = (s: Source) => (isModelInput(s) ? inputs[inputIndex(s)]!.shape : shapes[s]!);
    const dependsOnPixels = (s: Source) => (isModelInput(s) ? inputIndex(s) === 0 : fromPixels[s]!);
    const info: LayerInfo[] = [];
    const sources: Source[][] = [];
    nodes.forEach(({ layer, inputs: names }, index) => {
      try {
        if (!layer.name) layer.name = `${layer.kind.toLowerCase()}_${index}`;
        if (known.has(layer.name)) throw new ShapeError(`model: two nodes (or a node and an input) are named "${layer.name}"`);
        if (names.length === 0) throw new ShapeError(`model: node "${layer.name}" has no inputs`);
        const src = names.map((n) => {
          const s = known.get(n);
          if (s === undefined) {
            throw new ShapeError(`model: node "${layer.name}" reads "${n}", which is neither a model input nor an earlier node (nodes must be in topological order)`);
          }
          return s;
        });
        if (!isMerge(layer) && src.length !== 1) {
          throw new ShapeError(`model: node "${layer.name}" (${layer.kind}) takes one input, it was given ${src.length}: ${names.join(', ')}`);
        }
        const inShapes = src.map(shapeOf);
        const shape = isMerge(layer) ? layer.build(runtime, inShapes) : layer.build(runtime, inShapes[0]!);
        shapes.push(shape);
        fromPixels.push(src.some(dependsOnPixels));
        sources.push(src);
        known.set(layer.name, index);
        info.push({ index, name: layer.name, kind: layer.kind, outputShape: shape, projectable: fromPixels[index]!, inputs: [...names] });
      } catch (e) {
        for (const built of nodes.slice(0, index + 1)) built.layer.destroy();
        throw e;
      }
    });
    this.info = info;
    this.sources = sources;
    const outputNames = spec.outputs ?? [info[info.length - 1]!.name];
    if (outputNames.length === 0) throw new ShapeError('model: no outputs');
    this.outputIndices = outputNames.map((n) => {
      const s = known.get(n);
      if (s === undefined || isModelInput(s)) {
        this.destroy();
        throw new ShapeError(`model: output "${n}" is not a node`);
      }
      return s;
    });
    this.isChain = inputs.length === 1 && sources.every((src, i) => src.length === 1 && src[0] === (i === 0 ? inputSource(0) : i - 1));
    this.#convPools = spec.fusion === false ? new Map() : convPoolPairs(this.layers, sources);
  }

  /** The per-image shape of the first input (the pixels). */
  get inputShape(): readonly number[] { return this.inputs[0]!.shape; }
  get outputShape(): readonly number[] { return this.info[this.outputIndices[0]!]!.outputShape; }

  /**
   * The layers of a chain model; a graph gets UnsupportedError naming
   * `operation` (training and saving handle chains only).
   */
  chain(operation: string): readonly Layer[] {
    if (!this.isChain) {
      throw new UnsupportedError(`${operation}: supports chain models only; this model is a graph (node "${this.info.find((n, i) => n.inputs.length !== 1 || i === 0)?.name ?? '?'}" has several inputs or readers)`);
    }
    return this.layers as readonly Layer[];
  }

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
   * Runs the whole net: one command encoder, one compute pass, one submit.
   * Every activation and every pool's switches stay on the GPU in the
   * result; nothing is read back unless asked. Each input is [N, ...shape]
   * (a Tensor is borrowed, a Float32Array is uploaded; its batch is
   * length / per-image size). Several inputs are passed as an array.
   */
  async forward(input: ModelInputValue): Promise<ForwardResult> {
    this.#assertLive('forward');
    return this.runtime.run('forward', (rec) => this.forwardIn(rec, input));
  }

  /**
   * Records the forward pass into `rec` (of `runtime.run` or
   * `runtime.record`) without submitting, so more work (a projection, a
   * readback with `rec.read`) can share its submit. The result's tensors hold
   * their values once that submit is made; it is released if the recording fails.
   */
  forwardIn(rec: Recorder, input: ModelInputValue): ForwardResult {
    this.#assertLive('forward');
    const { xs, owned } = this.#takeInputs(input, 'forward');
    let step: { outputs: Tensor[]; switches: Array<Tensor | undefined> };
    try {
      step = this.recordForward(rec, xs);
    } catch (e) {
      xs.forEach((x, k) => { if (owned[k]) x.release(); });
      throw e;
    }
    return rec.own(new ForwardResult(this, xs, owned, step.outputs, step.switches));
  }

  /**
   * The model's output (or the node `output`, by name or index) for `input`,
   * read back as a Float32Array: one submit, one mapAsync, and no activation
   * or switch kept (each goes back to the pool once the work is submitted).
   * With `keep: true` the output stays on the GPU as a Tensor the caller
   * releases, and nothing is read back.
   */
  predict(input: ModelInputValue, options?: PredictOptions & { keep?: false }): Promise<Float32Array>;
  predict(input: ModelInputValue, options: PredictOptions & { keep: true }): Promise<Tensor>;
  async predict(input: ModelInputValue, options: PredictOptions & { keep?: boolean } = {}): Promise<Float32Array | Tensor> {
    this.#assertLive('predict');
    const index = options.output === undefined ? this.outputIndices[0]! : this.layerIndex(options.output);
    const rec = this.runtime.record(`predict ${this.layers[index]!.name}`);
    let output: Tensor;
    let data: Promise<Float32Array> | null = null;
    try {
      const { xs, owned } = this.#takeInputs(input, 'predict');
      xs.forEach((x, k) => { if (owned[k]) rec.temp(x); });
      const { outputs, switches } = this.recordForward(rec, xs, index + 1);
      output = outputs[index]!;
      // Everything but the output (and the caller's inputs, which a layer may pass through) goes back after the submit.
      const borrowed = new Set(xs.filter((_, k) => !owned[k]).map((x) => x.buffer));
      for (const t of [...outputs, ...switches]) if (t && t.buffer !== output.buffer && !borrowed.has(t.buffer)) rec.temp(t);
      if (options.keep) rec.own(output);
      else {
        data = rec.read(output);
        if (!borrowed.has(output.buffer)) rec.temp(output);
      }
    } catch (e) {
      rec.abandon();
      throw e;
    }
    await rec.submit();
    return data ?? output;
  }

  /** Validates and uploads the inputs; on an error, releases what it uploaded. */
  #takeInputs(input: ModelInputValue, operation: string): { xs: Tensor[]; owned: boolean[] } {
    const rt = this.runtime;
    const given = Array.isArray(input) ? input as ReadonlyArray<Tensor | Float32Array> : [input as Tensor | Float32Array];
    if (given.length !== this.inputs.length) {
      throw new ShapeError(`${operation}: the model takes ${this.inputs.length} input(s) (${this.inputs.map((i) => i.name).join(', ')}), ${given.length} given`);
    }
    const xs: Tensor[] = [];
    const owned: boolean[] = [];
    try {
      given.forEach((value, k) => {
        const { name: inputName, shape } = this.inputs[k]!;
        const name = this.inputs.length > 1 ? `input "${inputName}"` : 'input';
        if (value instanceof Tensor) {
          value.assertLive(operation);
          if (!sameShape(value.shape.slice(1), shape)) throw new ShapeError(`${operation}: ${name} is [${value.shape}], the model takes [N, ${shape}]`);
          xs.push(value);
          owned.push(false);
        } else {
          const perImage = shapeSize(shape);
          if (!(value instanceof Float32Array) || value.length === 0 || value.length % perImage !== 0) {
            throw new ShapeError(`${operation}: ${name} has ${value?.length} values, not a multiple of one image [${shape}] = ${perImage}`);
          }
          xs.push(rt.createTensor([value.length / perImage, ...shape], value, 'f32', inputName));
          owned.push(true);
        }
      });
      const batch = xs[0]!.shape[0]!;
      xs.forEach((x, k) => {
        if (x.shape[0] !== batch) throw new ShapeError(`${operation}: input "${this.inputs[k]!.name}" has batch ${x.shape[0]}, input "${this.inputs[0]!.name}" has ${batch}`);
      });
    } catch (e) {
      xs.forEach((x, k) => { if (owned[k]) x.release(); });
      throw e;
    }
    return { xs, owned };
  }

  #assertLive(operation: string): void {
    if (this.#destroyed) throw new DestroyedError(`${operation}: the model was destroyed`);
  }

  /**
   * Records nodes [0, end) on the inputs into `rec` without submitting: what
   * forward() and a training step build on. On an exception the tensors it
   * made are released (the caller abandons the recorder).
   */
  recordForward(rec: Recorder, x: Tensor | readonly Tensor[], end = this.layers.length): { outputs: Tensor[]; switches: Array<Tensor | undefined> } {
    const xs = x instanceof Tensor ? [x] : x;
    const outputs: Tensor[] = [];
    const switches: Array<Tensor | undefined> = [];
    const value = (s: Source) => (isModelInput(s) ? xs[inputIndex(s)]! : outputs[s]!);
    // Pool nodes whose outputs a fused conv already recorded.
    const pooled = new Map<number, { output: Tensor; switches: Tensor }>();
    try {
      for (let i = 0; i < end; i++) {
        const layer = this.layers[i]!;
        const args = this.sources[i]!.map(value);
        const poolNode = this.#convPools.get(i);
        const fused = poolNode !== undefined && poolNode < end
          ? recordConvPool(rec, layer as Conv2D, this.layers[poolNode] as MaxPool2D, args[0]!) : null;
        if (fused) pooled.set(poolNode!, fused.pool);
        const step = fused?.conv ?? pooled.get(i) ?? (isMerge(layer) ? layer.forward(rec, args) : layer.forward(rec, args[0]!));
        outputs.push(step.output);
        switches.push((step as { switches?: Tensor }).switches);
      }
    } catch (e) {
      const borrowed = new Set(xs.map((t) => t.buffer));
      const early = [...pooled].filter(([node]) => node >= outputs.length).flatMap(([, p]) => [p.output, p.switches]);
      for (const t of [...outputs, ...switches, ...early]) if (t && !borrowed.has(t.buffer)) t.release();
      throw e;
    }
    return { outputs, switches };
  }

  /** Frees the layers' weights; later calls reject with DestroyedError. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const layer of this.layers) layer.destroy();
  }

  /** Same as destroy() (see disposeSymbol). */
  [disposeSymbol](): void { this.destroy(); }
}

function normaliseSpec(spec: ModelSpec): { inputs: ModelInput[]; nodes: GraphNode[] } {
  if (spec.inputs && spec.inputShape) throw new ShapeError('model: give inputShape or inputs, not both');
  const inputs = spec.inputs?.map((i) => ({ name: i.name, shape: [...i.shape] }))
    ?? (spec.inputShape ? [{ name: 'input', shape: [...spec.inputShape] }] : []);
  if (inputs.length === 0) throw new ShapeError('model: no input shape');
  for (const { name, shape } of inputs) {
    if (shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new ShapeError(`model: input "${name}" has shape [${shape}]; every dimension must be a positive integer`);
    }
  }
  if (spec.layers && spec.nodes) throw new ShapeError('model: give layers (a chain) or nodes (a graph), not both');
  if (spec.layers) {
    if (spec.layers.length === 0) throw new ShapeError('model: no layers');
    if (inputs.length !== 1) throw new ShapeError('model: a chain of layers takes one input; use nodes for several');
    let previous = inputs[0]!.name;
    const nodes = spec.layers.map((layer, index) => {
      if (!layer.name) layer.name = `${layer.kind.toLowerCase()}_${index}`;
      const node = { layer, inputs: [previous] };
      previous = layer.name;
      return node;
    });
    return { inputs, nodes };
  }
  if (!spec.nodes || spec.nodes.length === 0) throw new ShapeError('model: no layers');
  return { inputs, nodes: spec.nodes };
}

/** What one forward pass leaves on the GPU: every node's output and every max pool's switches. */
export class ForwardResult {
  #released = false;

  constructor(
    readonly model: Model,
    readonly inputs: readonly Tensor[],
    private readonly owned: readonly boolean[],
    readonly activations: readonly Tensor[],
    readonly switches: ReadonlyArray<Tensor | undefined>,
  ) {}

  /** The first input (the pixels). */
  get input(): Tensor { return this.inputs[0]!; }
  get batch(): number { return this.input.shape[0]!; }
  /** The first output. */
  get output(): Tensor { return this.activations[this.model.outputIndices[0]!]!; }
  get outputs(): Tensor[] { return this.model.outputIndices.map((i) => this.activations[i]!); }
  get released(): boolean { return this.#released; }

  /** The output of a node (by index or name), still on the GPU. */
  activation(layer: number | string): Tensor {
    this.assertLive('activation');
    return this.activations[this.model.layerIndex(layer)]!;
  }

  /** The values node `index` read. */
  inputsOf(index: number): Tensor[] {
    return this.model.sources[index]!.map((s) => (isModelInput(s) ? this.inputs[inputIndex(s)]! : this.activations[s]!));
  }

  /** The (first) value node `index` read. */
  inputOf(index: number): Tensor {
    return this.inputsOf(index)[0]!;
  }

  /** Reads the model's first output (e.g. class probabilities) to the CPU. */
  readOutput(): Promise<Float32Array> {
    this.assertLive('readOutput');
    return this.output.read();
  }

  assertLive(operation: string): void {
    if (this.#released) throw new DestroyedError(`${operation}: this forward result was already released`);
  }

  /** Gives every buffer back to the runtime's pool. Borrowed inputs stay the caller's. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    const borrowed = new Set(this.inputs.filter((_, k) => !this.owned[k]).map((t) => t.buffer));
    for (const t of [...this.activations, ...this.switches]) {
      if (t && !borrowed.has(t.buffer)) t.release();
    }
    this.inputs.forEach((t, k) => { if (this.owned[k]) t.release(); });
  }

  /** Same as release() (see disposeSymbol). */
  [disposeSymbol](): void { this.release(); }
}

export function createModel(runtime: Runtime, spec: ModelSpec): Model {
  return new Model(runtime, spec);
}
