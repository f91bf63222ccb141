// The sidebar: which model (built in, or the user's own: picked, dropped or
// by URL), how it wants its pixels (preprocessing), what its outputs are
// called (class names), which image (samples, a file, a drop), and the top-5
// prediction for it. UI only: loading, parsing and ranking are the library's.
import {
  loadModel, parseClassNames, topClasses, isProbabilityVector, channelStats, tuneModel, DeconvNetError,
  UNIT_RANGE, IMAGENET_PREPROCESSING, CAFFE_PREPROCESSING, type ModelSource, type Preprocessing,
} from '../../src/index.js';
import type { App, Net, Panel, Sample } from '../app.js';
import { el, paint, bump, messageOf, imageDataAt } from '../ui.js';
import { mountLiveSwitch } from '../live_switch.js';

const PRESETS: Record<string, Preprocessing> = { none: UNIT_RANGE, imagenet: IMAGENET_PREPROCESSING, caffe: CAFFE_PREPROCESSING };
const MODEL_FILE = /\.(onnx|json|bin)$/i;

export const inputPanel: Panel = {
  id: 'input',
  title: 'Model and image',
  mount(app, root) {
    root.append(
      modelSection(app),
      imageSection(app),
      predictionSection(app),
      preprocessingSection(app),
      classNamesSection(app),
    );
  },
};

// ---- Model: picker, credit, loading your own, tuning ----

function modelSection(app: App): HTMLElement {
  const picker = el('select', { 'data-testid': 'model-select', 'aria-label': 'Model' });
  const note = el('p', { class: 'note', id: 'model-note', 'data-testid': 'model-note' });
  const credit = el('p', { class: 'note credit', 'data-testid': 'model-credit' });
  const error = el('p', { class: 'error', 'data-testid': 'model-error', role: 'alert' });
  const files = el('input', { type: 'file', multiple: true, accept: '.onnx,.json,.bin', 'data-testid': 'model-file' });
  const url = el('input', { type: 'url', placeholder: 'https://…/model.json or .onnx', 'data-testid': 'model-url', 'aria-label': 'Model URL' });
  const urlButton = el('button', { type: 'button', 'data-testid': 'model-url-load' }, 'Load');
  let userModels = 0;

  /** Loads the user's model; on failure the page says why and keeps the model it had. */
  async function loadUserModel(source: ModelSource) {
    error.textContent = '';
    note.textContent = 'Loading the model…';
    try {
      const loaded = await loadModel(app.runtime, source);
      const { model } = loaded;
      const net = app.addNet({
        id: `user:${++userModels}`, title: `${loaded.source.split('/').pop()} (${loaded.format})`, model,
        classes: loaded.classNames ?? null, preprocessing: loaded.preprocessing ?? UNIT_RANGE,
        samples: app.net.samples, builtIn: false,
      });
      await app.setNet(net);
    } catch (e) {
      error.textContent = `Could not load the model: ${messageOf(e)}`;
      error.dataset.code = e instanceof DeconvNetError ? e.code : 'error';
      describe();
    } finally {
      bump('model-loads');
    }
  }

  function describe() {
    const { net } = app;
    const [c, h, w] = app.inputSize;
    note.textContent = `${net.title}: input ${c}x${h}x${w}, ${net.model.info.length} nodes, `
      + `${net.classes ? `${net.classes.length} class names` : 'no class names'}.`;
    credit.textContent = net.credit ?? '';
    picker.replaceChildren(...app.nets.map((n) => new Option(n.title, n.id, false, n === net)));
  }

  picker.addEventListener('change', () => {
    const net = app.nets.find((n) => n.id === picker.value);
    if (net && net !== app.net) void app.setNet(net);
  });
  files.addEventListener('change', () => {
    if (files.files && files.files.length > 0) void loadUserModel(Array.from(files.files));
    files.value = '';
  });
  urlButton.addEventListener('click', () => { if (url.value.trim()) void loadUserModel(url.value.trim()); });
  onDrop((dropped) => {
    const modelFiles = dropped.filter((f) => MODEL_FILE.test(f.name));
    if (modelFiles.length > 0) void loadUserModel(modelFiles);
  });
  app.on('model', describe);

  return el('div', { class: 'side-block' },
    el('label', {}, 'Model ', picker), note, credit,
    el('fieldset', {}, el('legend', {}, 'Your own model'),
      el('label', { class: 'note' }, '.onnx, model.json + shards, or a saved model + .bin (pick several, or drop them on the page) ', files),
      el('div', { class: 'row' }, url, urlButton)),
    error,
    tuneControl(app),
    halfPrecisionControl(app),
  );
}

/** Half-precision weights (docs/f16.md): the GEMM conv kernels read f16 copies of the weights; the page reruns. */
function halfPrecisionControl(app: App): HTMLElement {
  const box = el('input', { type: 'checkbox', checked: app.runtime.precision !== 'f32', 'data-testid': 'half-precision' });
  box.addEventListener('change', () => {
    app.runtime.precision = box.checked ? 'f16' : 'f32';
    void app.forward();
  });
  return el('label', { class: 'note', title: 'f16 weights in the GEMM convolution kernels (where the kernel chooser picks them); everything else stays f32' },
    box, ' Half-precision weights');
}

/** Kernel tuning for the model on show (forward and projection shapes at batch 1). */
function tuneControl(app: App): HTMLElement {
  const button = el('button', { type: 'button', 'data-testid': 'tune-button' }, 'Tune the kernels for this GPU');
  const note = el('p', { class: 'note', 'data-testid': 'tune-note' });
  button.addEventListener('click', async () => {
    button.disabled = true;
    note.textContent = 'Timing each kernel variant on this GPU…';
    const start = performance.now();
    try {
      const results = await tuneModel(app.net.model, 1);
      const seconds = ((performance.now() - start) / 1000).toFixed(1);
      const picks = new Map<string, number>();
      for (const r of results) picks.set(`${r.op} ${r.variant}`, (picks.get(`${r.op} ${r.variant}`) ?? 0) + 1);
      note.textContent = `Tuned ${results.length} kernel shapes in ${seconds} s (${results.filter((r) => r.source === 'measured').length} measured now): `
        + [...picks].map(([pick, n]) => `${pick} x${n}`).join(', ');
      await app.forward();
    } catch (e) {
      note.textContent = `Tuning failed: ${messageOf(e)}`;
    } finally {
      button.disabled = false;
      bump('tuned');
    }
  });
  return el('div', { class: 'tune' }, button, note);
}

// ---- Preprocessing ----

function preprocessingSection(app: App): HTMLElement {
  const preset = el('select', { 'data-testid': 'pre-preset', 'aria-label': 'Preprocessing preset' },
    new Option('none (pixels / 255)', 'none'), new Option('ImageNet (torchvision)', 'imagenet'),
    new Option('Caffe (BGR, 0-255, mean)', 'caffe'), new Option('custom', 'custom'));
  const range = el('select', { 'data-testid': 'pre-range', 'aria-label': 'Input range' }, new Option('0-1', '1'), new Option('0-255', '255'));
  const mean = el('input', { type: 'text', size: 18, 'data-testid': 'pre-mean', 'aria-label': 'Mean per channel' });
  const std = el('input', { type: 'text', size: 18, 'data-testid': 'pre-std', 'aria-label': 'Std per channel' });
  const order = el('select', { 'data-testid': 'pre-order', 'aria-label': 'Channel order' }, new Option('RGB', 'rgb'), new Option('BGR', 'bgr'));
  const error = el('p', { class: 'error', 'data-testid': 'pre-error' });

  function show(p: Preprocessing) {
    range.value = String(p.scale);
    mean.value = p.mean.join(', ');
    std.value = p.std.join(', ');
    order.value = p.channelOrder;
    preset.value = Object.entries(PRESETS).find(([, q]) => sameSettings(p, q))?.[0] ?? 'custom';
  }
  /** The fields as a Preprocessing, checked against the model's channels; applied with a new forward pass. */
  async function apply() {
    const numbers = (text: string) => text.split(/[\s,]+/).filter(Boolean).map(Number);
    const p: Preprocessing = { scale: range.value === '255' ? 255 : 1, mean: numbers(mean.value), std: numbers(std.value), channelOrder: order.value as 'rgb' | 'bgr' };
    try {
      if (p.mean.some((v) => !Number.isFinite(v))) throw new Error(`mean "${mean.value}" is not a list of numbers`);
      channelStats(p, app.inputSize[0] === 3 ? 3 : 1);
    } catch (e) {
      error.textContent = messageOf(e);
      return;
    }
    error.textContent = '';
    app.net.preprocessing = p;
    show(p);
    await app.forward();
  }
  preset.addEventListener('change', () => {
    const p = PRESETS[preset.value];
    if (!p) return;
    show(p);
    void apply();
  });
  for (const field of [range, mean, std, order]) field.addEventListener('change', () => void apply());
  app.on('model', () => { error.textContent = ''; show(app.net.preprocessing); });

  return el('fieldset', { class: 'side-block', 'data-testid': 'preprocessing' }, el('legend', {}, 'Preprocessing (as the model was trained)'),
    el('label', {}, 'Preset ', preset),
    el('div', { class: 'row' }, el('label', {}, 'Range ', range), el('label', {}, 'Order ', order)),
    el('label', {}, 'Mean ', mean), el('label', {}, 'Std ', std), error);
}

function sameSettings(a: Preprocessing, b: Preprocessing): boolean {
  return a.scale === b.scale && a.channelOrder === b.channelOrder && a.mean.join() === b.mean.join() && a.std.join() === b.std.join();
}

// ---- Class names ----

function classNamesSection(app: App): HTMLElement {
  const preset = el('select', { 'data-testid': 'class-preset', 'aria-label': 'Class names' },
    new Option("the model's own", 'own'), new Option('ImageNet (1000)', 'imagenet'), new Option('none (class N)', 'none'));
  const file = el('input', { type: 'file', accept: '.txt,.json,text/plain,application/json', 'data-testid': 'class-file' });
  const note = el('p', { class: 'note', 'data-testid': 'class-note' });
  /** The names each model came with, so "the model's own" can bring them back. */
  const own = new WeakMap<Net, string[] | null>();

  async function use(names: string[] | null, what: string) {
    const outputs = outputCount(app);
    if (names && names.length !== outputs) {
      note.textContent = `${what}: ${names.length} names, but the model has ${outputs} outputs; not applied.`;
      note.className = 'error';
      return;
    }
    note.className = 'note';
    note.textContent = names ? `${what}: ${names.length} names.` : 'No class names: outputs show as "class N".';
    app.net.classes = names;
    await app.forward();
  }
  preset.addEventListener('change', async () => {
    if (preset.value === 'none') await use(null, 'none');
    else if (preset.value === 'own') await use(own.get(app.net) ?? null, "the model's own");
    else await use(await imagenetClasses(), 'ImageNet');
  });
  file.addEventListener('change', async () => {
    const picked = file.files?.[0];
    if (!picked) return;
    try {
      await use(parseClassNames(await picked.text(), picked.name), picked.name);
    } catch (e) {
      note.textContent = messageOf(e);
      note.className = 'error';
    }
    file.value = '';
  });
  app.on('model', () => {
    if (!own.has(app.net)) own.set(app.net, app.net.classes);
    preset.value = 'own';
    note.className = 'note';
    note.textContent = app.net.classes ? `${app.net.classes.length} class names.` : 'No class names: outputs show as "class N".';
  });

  return el('fieldset', { class: 'side-block' }, el('legend', {}, 'Class names'),
    el('label', {}, 'Names ', preset), el('label', { class: 'note' }, 'or a file (one per line, or JSON) ', file), note);
}

function outputCount(app: App): number {
  const out = app.net.model.info[app.net.model.outputIndices[0]!]!.outputShape;
  return out.reduce((a, b) => a * b, 1);
}

/** ImageNet's 1000 class names from @tensorflow-models/mobilenet, bundled with the page (a separate chunk). */
async function imagenetClasses(): Promise<string[]> {
  const { IMAGENET_CLASSES } = await import('@tensorflow-models/mobilenet/dist/imagenet_classes.js');
  return Array.from({ length: 1000 }, (_, i) => IMAGENET_CLASSES[i]!);
}

// ---- Image: samples, your own, live ----

function imageSection(app: App): HTMLElement {
  const strip = el('div', { class: 'samples', 'data-testid': 'samples' });
  const file = el('input', { type: 'file', accept: 'image/*', 'data-testid': 'image-file' });
  const preview = el('canvas', { 'data-testid': 'input-image', class: 'preview' });
  const caption = el('p', { class: 'note', 'data-testid': 'image-name' });
  const error = el('p', { class: 'error', 'data-testid': 'image-error' });
  const live = el('div', { class: 'live-slot', 'data-testid': 'live-slot' });

  /** Shows `source` at the model's input size and runs the model on it. */
  async function choose(name: string, source: Blob | ImageData | string, label?: number) {
    const [, h, w] = app.inputSize;
    try {
      const rgba = await imageDataAt(source, w, h);
      error.textContent = '';
      await app.setImage({ name, rgba, label });
    } catch (e) {
      error.textContent = `Could not use ${name}: ${messageOf(e)}`;
    }
  }
  function thumbnail(sample: Sample): HTMLElement {
    const attrs = { class: 'thumb', title: sample.name, 'data-testid': 'sample', 'data-name': sample.name, tabindex: 0 };
    let thumb: HTMLElement;
    if (sample.url) {
      thumb = el('img', { ...attrs, src: sample.url, alt: sample.name });
    } else {
      const canvas = el('canvas', attrs);
      paint(canvas, sample.rgba!);
      thumb = canvas;
    }
    thumb.addEventListener('click', () => void choose(sample.name, sample.url ?? sample.rgba!, sample.label));
    return thumb;
  }

  file.addEventListener('change', () => {
    const picked = file.files?.[0];
    if (picked) void choose(picked.name, picked);
    file.value = '';
  });
  onDrop((dropped) => {
    const image = dropped.find((f) => f.type.startsWith('image/'));
    if (image && !dropped.some((f) => MODEL_FILE.test(f.name))) void choose(image.name, image);
  });
  app.on('model', () => {
    strip.replaceChildren(...app.net.samples.map(thumbnail));
    // Not awaited: every panel hears of the new model before the first image's forward pass.
    const first = app.net.samples[0];
    if (first) void choose(first.name, first.url ?? first.rgba!, first.label);
  });
  app.on('image', () => {
    const image = app.image!;
    paint(preview, image.rgba, Math.max(1, Math.round(128 / image.rgba.width)));
    caption.textContent = `${image.name} at ${image.rgba.width}x${image.rgba.height}${image.label === undefined ? '' : `, shows ${app.className(image.label)}`}`;
    for (const thumb of strip.querySelectorAll<HTMLElement>('.thumb')) thumb.classList.toggle('selected', thumb.dataset.name === image.name);
  });
  mountLiveSwitch(app, live);

  return el('div', { class: 'side-block' }, el('h3', {}, 'Image'), strip,
    el('label', { class: 'note' }, 'Your own image (or drop one on the page) ', file), error,
    el('div', { class: 'row' }, preview, caption), live);
}

/** Files dropped anywhere on the page. */
function onDrop(handle: (files: File[]) => void) {
  document.addEventListener('dragover', (e) => { e.preventDefault(); });
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    const files = Array.from(e.dataTransfer?.files ?? []);
    if (files.length > 0) handle(files);
  });
}

// ---- Prediction ----

function predictionSection(app: App): HTMLElement {
  const list = el('ol', { class: 'top5', 'data-testid': 'top5' });
  const headline = el('p', { 'data-testid': 'prediction' });
  app.on('model', () => { list.replaceChildren(); headline.textContent = ''; list.dataset.image = ''; });
  app.on('forward', async () => {
    const fwd = app.fwd;
    const image = app.image;
    if (!fwd) return;
    let scores: Float32Array;
    try {
      scores = await fwd.readOutput();
    } catch {
      return; // a newer forward pass replaced this one
    }
    // A newer image's forward pass came while this one was read: its scores are not this image's.
    if (app.fwd !== fwd || app.image !== image) return;
    const probabilities = isProbabilityVector(scores);
    const top = topClasses(scores, 5);
    const value = (s: number) => (probabilities ? `${(100 * s).toFixed(1)}%` : s.toFixed(3));
    list.replaceChildren(...top.map(({ index, score }) => el('li', { 'data-index': index },
      el('span', { class: 'name' }, app.className(index)),
      el('meter', { min: 0, max: probabilities ? 1 : top[0]!.score || 1, value: Math.max(0, score) }),
      el('span', { class: 'value' }, value(score)))));
    const best = top[0];
    const truth = image?.label;
    list.dataset.image = image?.name ?? '';
    headline.textContent = best ? `Prediction: ${app.className(best.index)} (${value(best.score)})`
      + (truth === undefined ? '' : truth === best.index ? ', correct' : `; the image shows ${app.className(truth)}`) : '';
    bump('predictions');
  });
  return el('div', { class: 'side-block' }, el('h3', {}, 'Top 5'), headline, list);
}
