import type { Model, ForwardResult } from '../model/model.js';
import { isMerge, type ProjectionMode as Mode } from '../layers/layer.js';
import { sumN } from '../ops/sum_n.js';
import type { Recorder } from '../gpu/recorder.js';
import type { ProjectionMode } from '../layers/layer.js';
import { selectSeed, type SeedPosition } from '../ops/select_seed.js';
import { disposeSymbol, type Tensor } from '../gpu/tensor.js';
import { DestroyedError, OutOfRangeError } from '../gpu/errors.js';
import { planSparse, runSparse } from './sparse.js';
import { backwardAfterRule, rulesBelowPools, unpoolWithRule } from './dense_fusion.js';

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
  /**
   * true (default): a projection from one position per image runs each layer
   * on the window its receptive field reaches (see src/deconv/sparse.ts), as
   * far down as that pays; false: every layer on its whole map. Both give the
   * same projection up to float rounding.
   */
  sparse?: boolean;
}

/**
 * The DeconvNet attached to a model: maps activations of any layer back to
 * pixel space through each layer's backward rule (unpool with the recorded
 * switches, rectify, transposed convolution with the same filters).
 */
export class DeconvNet {
  constructor(readonly model: Model) {}

  /**
   * Records the seed selection and the whole backward chain into one command
   * encoder and one submit. The result stays on the GPU.
   */
  async project(fwd: ForwardResult, options: ProjectOptions): Promise<Projection> {
    const { layerName } = this.#check(fwd, options);
    return this.model.runtime.run(`project ${layerName}#${options.channel}`, (rec) => this.projectIn(rec, fwd, options));
  }

  /**
   * Records the projection into `rec` without submitting, so that it shares a
   * submit with the forward it projects (`model.forwardIn` in the same
   * recorder) and with a readback (`rec.read(projection.tensor)`):
   *
   *     const { fwd, proj, data } = await runtime.run('view', (rec) => {
   *       const fwd = model.forwardIn(rec, pixels);
   *       const proj = deconv.projectIn(rec, fwd, { layer: 'conv2', channel: 3 });
   *       return { fwd, proj, data: rec.read(proj.tensor) };
   *     });
   *     const pixelsBack = await data; // one submit, one mapAsync
   *
   * The projection is released if the recording fails.
   */
  projectIn(rec: Recorder, fwd: ForwardResult, options: ProjectOptions): Projection {
    const { top, mode, pos, layerName } = this.#check(fwd, options);
    const position: SeedPosition = pos === 'max' || pos === 'all' ? pos : 'at';
    let chosen: Tensor | undefined;
    let signals: Signals | undefined;
    try {
      const sel = selectSeed(rec, fwd.activations[top]!, {
        channel: options.channel,
        position,
        at: typeof pos === 'object' ? pos : undefined,
        one: options.seed === 'one',
      }, layerName);
      chosen = sel.chosen;
      signals = new Signals(rec);
      const plan = position === 'all' || options.sparse === false ? null : planSparse(fwd, top);
      let start = top;
      if (plan) {
        const width = fwd.activations[top]!.shape[3]!;
        signals.add(plan.handOver, runSparse(rec, fwd, plan, rec.temp(sel.seed), { chosen, width }, mode));
        start = plan.handOver;
      } else {
        signals.add(top, sel.seed);
      }
      const pixels = propagate(rec, fwd, start, mode, signals);
      return rec.own(new Projection(pixels, chosen, fwd.activations[top]!.shape));
    } catch (e) {
      chosen?.release();
      signals?.releaseAll();
      throw e;
    }
  }

  /** Validates a projection request; throws the typed error naming what is wrong. */
  #check(fwd: ForwardResult, options: ProjectOptions) {
    fwd.assertLive('project');
    if (fwd.model !== this.model) throw new OutOfRangeError('project: the forward result comes from another model');
    const model = this.model;
    model.runtime.assertUsable('project');
    const top = model.layerIndex(options.layer);
    const mode: Mode = options.mode ?? 'deconvnet';
    if (mode !== 'deconvnet' && mode !== 'guided' && mode !== 'gradient') {
      throw new OutOfRangeError(`project: unknown mode "${String(mode)}" (deconvnet, guided or gradient)`);
    }
    const layerName = model.layers[top]!.name;
    if (!model.info[top]!.projectable) {
      throw new OutOfRangeError(`project: layer "${layerName}" does not depend on the model's first input "${model.inputs[0]!.name}", so it has no projection to pixels`);
    }
    return { top, mode, pos: options.position ?? 'max', layerName };
  }
}

/**
 * The signals waiting at node outputs while the graph is walked back. A node
 * read by several others gets the sum of what each sends (the rule for a
 * fork). Backward rules may hand back views or the very tensor they got
 * (Flatten, Add), so buffers are counted and freed once no signal uses them.
 */
/** The key of the signal that reaches the first model input. */
const PIXELS = -1;

class Signals {
  readonly #byNode = new Map<number, Tensor>();
  readonly #uses = new Map<GPUBuffer, number>();

  constructor(private readonly rec: Recorder) {}

  take(node: number): Tensor | undefined {
    const t = this.#byNode.get(node);
    this.#byNode.delete(node);
    return t;
  }

  /** Holds `t` for `node`, summing with what is already there. */
  add(node: number, t: Tensor): void {
    this.#hold(t);
    const existing = this.#byNode.get(node);
    if (!existing) {
      this.#byNode.set(node, t);
      return;
    }
    const sum = sumN(this.rec, [existing, t]);
    this.#hold(sum);
    this.drop(existing);
    this.drop(t);
    this.#byNode.set(node, sum);
  }

  /** Lets go of one use of `t`; its buffer is freed after the submit when unused. */
  drop(t: Tensor): void {
    const n = (this.#uses.get(t.buffer) ?? 0) - 1;
    if (n > 0) {
      this.#uses.set(t.buffer, n);
      return;
    }
    this.#uses.delete(t.buffer);
    this.rec.temp(t);
  }

  /** A signal nobody needs (sent to a constant branch or a second input). */
  discard(t: Tensor): void {
    this.#hold(t);
    this.drop(t);
  }

  #hold(t: Tensor): void {
    this.#uses.set(t.buffer, (this.#uses.get(t.buffer) ?? 0) + 1);
  }

  releaseAll(): void {
    for (const t of this.#byNode.values()) t.release();
    this.#byNode.clear();
  }
}

/**
 * Walks the graph back from `top` (or from the pixels, PIXELS, where the
 * sparse walk already got there) in reverse topological order: each node
 * with a waiting signal applies its backward rule and sends the result to the
 * nodes it read. What reaches the first model input is the projection.
 */
function propagate(rec: Recorder, fwd: ForwardResult, top: number, mode: Mode, signals: Signals): Tensor {
  const model = fwd.model;
  // Unpoolings that apply the ReLU rule of the layer below them (dense_fusion.ts), and the nodes whose rule was so applied.
  const rulesBelow = rulesBelowPools(model);
  const ruled = new Set<number>();
  for (let i = top; i >= 0; i--) {
    const g = signals.take(i);
    if (!g) continue;
    const layer = model.layers[i]!;
    const inputs = fwd.inputsOf(i);
    const below = rulesBelow.get(i);
    if (below !== undefined) ruled.add(below);
    const sent = below !== undefined ? [unpoolWithRule(rec, fwd, i, below, g, mode)]
      : ruled.has(i) ? [backwardAfterRule(rec, fwd, i, g)]
      : isMerge(layer)
        ? layer.backward(rec, g, { inputs, output: fwd.activations[i]! }, mode)
        : [layer.backward(rec, g, { input: inputs[0]!, output: fwd.activations[i]!, switches: fwd.switches[i] }, mode)];
    model.sources[i]!.forEach((source, k) => {
      // Source -1 is the first model input (the pixels); other inputs and
      // nodes that do not depend on the pixels need no signal.
      const wanted = source === PIXELS || (source >= 0 && model.info[source]!.projectable);
      if (wanted) signals.add(source, sent[k]!);
      else signals.discard(sent[k]!);
    });
    signals.drop(g);
  }
  const pixels = signals.take(PIXELS);
  if (!pixels) throw new OutOfRangeError('project: no signal reached the model input');
  return pixels;
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
    if (this.released) throw new DestroyedError('projection.positions: already released');
    const width = this.layerShape[3] ?? 1;
    const flat = await this.chosenTensor.runtime.readU32(this.chosenTensor);
    return Array.from(flat, (i) => (i === 0xffffffff ? null : { y: Math.floor(i / width), x: i % width }));
  }

  /** Gives both tensors back to the pool. Idempotent. */
  release(): void {
    this.tensor.release();
    this.chosenTensor.release();
  }

  get released(): boolean { return this.tensor.released; }

  /** Same as release() (see disposeSymbol). */
  [disposeSymbol](): void { this.release(); }
}

export function createDeconvNet(model: Model): DeconvNet {
  return new DeconvNet(model);
}
