// The page's state, shared by every panel: the runtime, the model on show,
// the current image (as the model's input), its forward pass, and the unit
// the user chose. Panels subscribe to changes; only this file mutates state.
// UI only: every number shown comes from the library.
import {
  createDeconvNet, preprocessRgba, type Runtime, type Model, type DeconvNet, type ForwardResult, type Preprocessing,
} from '../src/index.js';

/** An image the page can show: pixels at the model's input size plus a name. */
export interface PageImage {
  name: string;
  /** RGBA pixels at the model's input size (what the model sees, before preprocessing). */
  rgba: ImageData;
  /** Ground-truth class index when known (samples named after their class). */
  label?: number;
}

/** A sample image shipped with a model (URL of a file, or pixels inline). */
export interface Sample { name: string; url?: string; rgba?: ImageData; label?: number }

/** The model on show and what the page knows about it. */
export interface Net {
  /** Stable id: 'tiny-vgg', 'fashion', or 'user:<n>'. */
  id: string;
  /** Shown in the model picker and notes. */
  title: string;
  model: Model;
  deconv: DeconvNet;
  /** One name per output class, or null ("class N"). */
  classes: string[] | null;
  preprocessing: Preprocessing;
  /** Images offered in the strip (and as the Top-9 default dataset). */
  samples: Sample[];
  /** Licence / credit line shown with the model (e.g. CNN Explainer, MIT). */
  credit?: string;
  /** Built into the page (never destroyed when switching away). */
  builtIn: boolean;
}

/** The unit the user chose: a channel of a layer, optionally one position (else its strongest activation). */
export interface Selection { layer: string; channel: number; position?: { y: number; x: number } }

export type AppEvent = 'model' | 'image' | 'forward' | 'layer' | 'selection' | 'mode';

/** DeconvNet / guided backprop / gradient, or all three side by side. */
export type ProjectionChoice = 'deconvnet' | 'guided' | 'gradient' | 'all';

export interface Panel {
  id: string;
  title: string;
  /** Builds the panel's DOM inside `root` and subscribes to the app's events. */
  mount(app: App, root: HTMLElement): void;
}

export class App {
  net!: Net;
  image: PageImage | null = null;
  /** Forward pass of the current image (batch 1); released and replaced when the image or model changes. */
  fwd: ForwardResult | null = null;
  /** Layer shown in the feature-map panel (a node name with a [C, H, W] output). */
  layer = '';
  selection: Selection | null = null;
  mode: ProjectionChoice = 'deconvnet';
  /** Every model the page has built or loaded; the picker lists them. */
  readonly nets: Net[] = [];
  #listeners = new Map<AppEvent, Array<() => void | Promise<void>>>();
  #forwardSeq = 0;
  /** Nets replaced in the picker while on show: destroyed when the page moves off them. */
  #replaced: Net[] = [];

  constructor(readonly runtime: Runtime) {}

  on(event: AppEvent, fn: () => void | Promise<void>): void {
    let list = this.#listeners.get(event);
    if (!list) this.#listeners.set(event, (list = []));
    list.push(fn);
  }

  async emit(event: AppEvent): Promise<void> {
    for (const fn of this.#listeners.get(event) ?? []) await fn();
  }

  /** Adds a model to the picker (without showing it). */
  addNet(net: Omit<Net, 'deconv'>): Net {
    const full: Net = { ...net, deconv: createDeconvNet(net.model) };
    const old = this.nets.findIndex((n) => n.id === full.id);
    if (old >= 0) {
      const previous = this.nets[old]!;
      // The net on show is still drawn from: it goes once another is shown.
      if (previous !== this.net) previous.model.destroy();
      else this.#replaced.push(previous);
      this.nets[old] = full;
    } else {
      this.nets.push(full);
    }
    return full;
  }

  /** Shows `net`: picks a default layer, clears the selection, reruns the forward pass once an image is set. */
  async setNet(net: Net): Promise<void> {
    this.fwd?.release();
    this.fwd = null;
    this.net = net;
    for (const replaced of this.#replaced.splice(0)) if (replaced !== net) replaced.model.destroy();
    this.selection = null;
    const maps = this.featureLayers();
    this.layer = maps[Math.floor(maps.length / 2)] ?? '';
    this.image = null;
    await this.emit('model');
  }

  /** Sets the current image (already at the model's input size) and runs the forward pass. */
  async setImage(image: PageImage): Promise<void> {
    this.image = image;
    await this.emit('image');
    await this.forward();
  }

  /** Reruns the forward pass of the current image (e.g. after the preprocessing changed). */
  async forward(): Promise<void> {
    if (!this.image) return;
    const seq = ++this.#forwardSeq;
    const input = this.input(this.image);
    const fwd = await this.net.model.forward(input);
    if (seq !== this.#forwardSeq) { fwd.release(); return; } // a newer image won
    this.fwd?.release();
    this.fwd = fwd;
    await this.emit('forward');
  }

  async setLayer(layer: string): Promise<void> {
    this.layer = layer;
    this.selection = null;
    await this.emit('layer');
  }

  async select(selection: Selection | null): Promise<void> {
    this.selection = selection;
    await this.emit('selection');
  }

  async setMode(mode: ProjectionChoice): Promise<void> {
    this.mode = mode;
    await this.emit('mode');
  }

  /** The model input [C, H, W] of an image, with the model's preprocessing (see preprocessRgba). */
  input(image: PageImage): Float32Array {
    return imageInput(this.net, image.rgba);
  }

  /** Names of the nodes whose output is a feature map [C, H, W] that depends on the pixels. */
  featureLayers(): string[] {
    return this.net.model.info.filter((i) => i.outputShape.length === 3 && i.projectable).map((i) => i.name);
  }

  /** "koala" or "class 5". */
  className(index: number): string {
    return this.net.classes?.[index] ?? `class ${index}`;
  }

  /** Model input size [channels, height, width]. */
  get inputSize(): [number, number, number] {
    const s = this.net.model.inputShape;
    return (s.length === 3 ? [...s] : [1, 1, s[0] ?? 1]) as [number, number, number];
  }
}

/** The model input of RGBA pixels already at the model's input size. */
export function imageInput(net: Net, rgba: ImageData): Float32Array {
  const s = net.model.inputShape;
  const channels = s.length === 3 && s[0] === 3 ? 3 : 1;
  return preprocessRgba(rgba.data, rgba.width, rgba.height, channels, net.preprocessing);
}
