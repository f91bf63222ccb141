// Top 9 (Zeiler & Fergus 2014, Fig. 2): for each channel of the chosen layer,
// the 9 images of a dataset that excite it most, each as the input patch under
// the unit's receptive field beside the DeconvNet projection of that one
// activation. UI only: ranking, cropping and projecting are topActivations'.
import {
  topActivations, loadIdxDataset, inputToImage, projectionToImage, type TopKResult, type TopActivation,
  type ProjectionMode, type RgbaImage,
} from '../../src/index.js';
import { imageInput, type App, type Net, type Panel } from '../app.js';
import { el, paint, scaleFor, savePngButton, progressControl, imageDataAt } from '../ui.js';
import { runWithProgress } from './analysis_controls.js';

const K = 9;
/** Channels computed (and shown) per run; more in the next page. */
const PAGE = 16;

/** A dataset as the page holds it: RGBA pixels at the model's input size, with a name per image. */
interface PixelDataset { names: string[]; pixels: ImageData[] }

export const top9Panel: Panel = {
  id: 'top9',
  title: 'Top 9 activations per channel over a dataset (paper Fig. 2)',
  mount(app, root) {
    const layerSelect = el('select', { 'data-testid': 'top9-layer', 'aria-label': 'Layer' });
    const datasetSelect = el('select', { 'data-testid': 'top9-dataset', 'aria-label': 'Dataset' });
    const files = el('input', { type: 'file', multiple: true, accept: 'image/*', 'data-testid': 'top9-files' });
    const folder = el('input', { type: 'file', webkitdirectory: true, 'data-testid': 'top9-folder' });
    const modeSelect = el('select', { 'data-testid': 'top9-mode', 'aria-label': 'Projection mode' },
      new Option('DeconvNet', 'deconvnet'), new Option('guided backprop', 'guided'), new Option('gradient', 'gradient'));
    const first = el('input', { type: 'number', min: 0, value: 0, step: 1, style: 'width:4.5em', 'data-testid': 'top9-first', 'aria-label': 'First channel' });
    const count = el('input', { type: 'number', min: 1, max: 64, value: PAGE, step: 1, style: 'width:4em', 'data-testid': 'top9-count', 'aria-label': 'Channels' });
    const previous = el('button', { type: 'button', title: 'Previous channels' }, '◀');
    const next = el('button', { type: 'button', title: 'Next channels' }, '▶');
    const run = el('button', { type: 'button', 'data-testid': 'top9-run' }, 'Find the top 9');
    const progress = progressControl('top9');
    const results = el('div', { class: 'top9-results', 'data-testid': 'top9-results' });
    const save = savePngButton(() => composeFigure(results), 'top9.png', 'top9-save');
    const datasetNote = el('span', { class: 'note', 'data-testid': 'top9-dataset-note' });

    root.append(
      el('p', { class: 'note' }, 'For each channel: the 9 strongest activations over the dataset (one per image, as in the paper), '
        + 'left the projection of each single activation to pixel space, right the image patch under its receptive field.'),
      el('div', { class: 'row controls' },
        el('label', {}, 'Layer ', layerSelect),
        el('label', {}, 'Channels from ', first), el('label', {}, ' count ', count), previous, next,
        el('label', {}, 'Projection ', modeSelect)),
      el('div', { class: 'row controls' },
        el('label', {}, 'Dataset ', datasetSelect),
        el('label', {}, 'or pick images ', files), el('label', {}, 'or a folder ', folder), datasetNote),
      el('div', { class: 'row controls' }, run, save),
      progress.root,
      results,
    );

    /** Images the user picked (kept across model switches; decoded at the model's size when run). */
    let picked: File[] = [];
    /** Decoded samples per model, so that a rerun does not decode them again. */
    const sampleCache = new WeakMap<Net, PixelDataset>();
    /** Aborts the run when the model changes under it. */
    let modelChange = new AbortController();

    function refreshLayers() {
      const layers = app.featureLayers();
      layerSelect.replaceChildren(...layers.map((name) => {
        const shape = app.net.model.info[app.net.model.layerIndex(name)]!.outputShape;
        return new Option(`${name} [${shape.join('x')}]`, name, false, name === app.layer);
      }));
      clampChannels();
    }

    function channelsOfLayer(): number {
      if (!app.layer) return 0;
      return app.net.model.info[app.net.model.layerIndex(app.layer)]!.outputShape[0]!;
    }

    function clampChannels() {
      const channels = channelsOfLayer();
      first.max = String(Math.max(0, channels - 1));
      first.value = String(Math.min(Math.max(0, Number(first.value) || 0), Math.max(0, channels - 1)));
    }

    function refreshDatasets() {
      const options = [new Option(`samples of ${app.net.title} (${app.net.samples.length})`, 'samples')];
      if (app.net.id === 'fashion') options.push(new Option('Fashion-MNIST test subset shipped with the page', 'fashion-test'));
      if (picked.length > 0) options.push(new Option(`your images (${picked.length})`, 'picked'));
      const chosen = datasetSelect.value;
      datasetSelect.replaceChildren(...options);
      if (options.some((o) => o.value === chosen)) datasetSelect.value = chosen;
    }

    function pick(list: FileList | null) {
      const images = Array.from(list ?? []).filter((f) => f.type.startsWith('image/') || /\.(jpe?g|png|gif|webp|bmp)$/i.test(f.name));
      if (images.length === 0) { datasetNote.textContent = 'No image files in that choice.'; return; }
      picked = images;
      datasetNote.textContent = `${images.length} images picked.`;
      refreshDatasets();
      datasetSelect.value = 'picked';
    }

    /** The chosen dataset as pixels at the model's input size; reports decoding progress. */
    async function pixelsOf(net: Net, choice: string, signal: AbortSignal): Promise<PixelDataset> {
      const [, h, w] = app.inputSize;
      if (choice === 'fashion-test') return fashionTestSubset(w, h);
      const sources = choice === 'picked'
        ? picked.map((f) => ({ name: f.webkitRelativePath || f.name, source: f as Blob | ImageData | string }))
        : net.samples.map((s) => ({ name: s.name, source: (s.rgba ?? s.url)! }));
      const cached = choice === 'samples' ? sampleCache.get(net) : undefined;
      if (cached) return cached;
      const dataset: PixelDataset = { names: [], pixels: [] };
      const unreadable: string[] = [];
      for (const [i, { name, source }] of sources.entries()) {
        if (signal.aborted) throw new DOMException('cancelled', 'AbortError');
        try {
          dataset.pixels.push(await imageDataAt(source, w, h));
          dataset.names.push(name);
        } catch {
          unreadable.push(name);
        }
        progress.update(i + 1, sources.length);
      }
      datasetNote.textContent = unreadable.length > 0 ? `Skipped ${unreadable.length} files that are not readable images: ${unreadable.slice(0, 3).join(', ')}${unreadable.length > 3 ? '…' : ''}` : '';
      if (dataset.pixels.length === 0) throw new Error('none of the images could be read');
      if (choice === 'samples') sampleCache.set(net, dataset);
      return dataset;
    }

    async function runTop9() {
      const net = app.net;
      const layer = app.layer;
      if (!net || !layer) return;
      const channels = channelsOfLayer();
      const from = Math.min(Math.max(0, Math.floor(Number(first.value) || 0)), channels - 1);
      const n = Math.min(Math.max(1, Math.floor(Number(count.value) || PAGE)), channels - from);
      const selected = Array.from({ length: n }, (_, i) => from + i);
      const mode = modeSelect.value as ProjectionMode;
      await runWithProgress(progress, run, modelChange.signal, 'top9-runs', async (signal) => {
        const data = await pixelsOf(net, datasetSelect.value, signal);
        const inputs = data.pixels.map((rgba) => imageInput(net, rgba));
        progress.update(0, 1);
        const [result] = await topActivations(net.model, inputs, {
          layers: [layer], k: K, channels: selected, mode, signal,
          onProgress: (p) => progress.update(p.done, p.total),
        });
        progress.update(1, 1);
        showResult(net, result!, data, mode);
        return `${data.pixels.length} images, channels ${from}–${from + n - 1} of ${layer} (${channels}).`;
      });
    }

    function showResult(net: Net, result: TopKResult, data: PixelDataset, mode: ProjectionMode) {
      results.dataset.layer = result.layer;
      results.dataset.mode = mode;
      results.replaceChildren(...result.selected.map((channel) => channelFigure(net, channel, result.top[channel]!, data)));
    }

    function channelFigure(net: Net, channel: number, top: TopActivation[], data: PixelDataset): HTMLElement {
      const patches = top.map((a) => inputToImage(a.patch.data, a.patch.shape, net.preprocessing));
      const projections = top.map((a) => projectionToImage(a.projection!.data, a.projection!.shape));
      const tooltip = top.map((a, r) => `${r + 1}. ${data.names[a.imageIndex]} at (${a.y}, ${a.x}): ${a.value.toFixed(3)}`).join('\n');
      const projectionCanvas = gridCanvas(projections, `top9-projections-${channel}`, tooltip);
      const patchCanvas = gridCanvas(patches, `top9-patches-${channel}`, tooltip);
      const strongest = top[0] ? top[0].value.toFixed(2) : '—';
      return el('figure', { class: 'figure top9-channel', 'data-testid': 'top9-channel', 'data-channel': channel, 'data-patches': top.length },
        el('figcaption', {}, `channel ${channel} · max ${strongest}`),
        el('div', { class: 'row' }, projectionCanvas, patchCanvas));
    }

    layerSelect.addEventListener('change', () => void app.setLayer(layerSelect.value));
    datasetSelect.addEventListener('change', () => { datasetNote.textContent = ''; });
    files.addEventListener('change', () => pick(files.files));
    folder.addEventListener('change', () => pick(folder.files));
    run.addEventListener('click', () => void runTop9());
    const page = (direction: number) => {
      const step = Math.max(1, Number(count.value) || PAGE);
      first.value = String(Number(first.value) + direction * step);
      clampChannels();
      void runTop9();
    };
    previous.addEventListener('click', () => page(-1));
    next.addEventListener('click', () => page(1));
    app.on('model', () => {
      modelChange.abort();
      modelChange = new AbortController();
      results.replaceChildren();
      refreshLayers();
      refreshDatasets();
    });
    app.on('layer', () => { refreshLayers(); results.replaceChildren(); });
  },
};

/** Up to 9 pictures of the same size as a 3x3 grid with 1-pixel gaps, at a scale that makes it about 150 px wide. */
function gridCanvas(images: RgbaImage[], testId: string, title: string): HTMLCanvasElement {
  const canvas = el('canvas', { 'data-testid': testId, title, class: 'top9-grid', 'data-cells': images.length });
  const w = images[0]?.width ?? 1, h = images[0]?.height ?? 1;
  const scale = scaleFor(3 * w + 4, 150);
  canvas.width = (3 * w + 4) * scale;
  canvas.height = (3 * h + 4) * scale;
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = false;
  images.forEach((image, i) => {
    const cell = document.createElement('canvas');
    paint(cell, image, 1);
    const x = (1 + (i % 3) * (w + 1)) * scale, y = (1 + Math.floor(i / 3) * (h + 1)) * scale;
    ctx.drawImage(cell, x, y, w * scale, h * scale);
  });
  return canvas;
}

/** Every channel's figure on one canvas (4 per row, captions above), for saving. */
function composeFigure(results: HTMLElement): HTMLCanvasElement {
  const figures = Array.from(results.querySelectorAll<HTMLElement>('.top9-channel'));
  const out = document.createElement('canvas');
  if (figures.length === 0) { out.width = out.height = 1; return out; }
  const pairs = figures.map((f) => ({ caption: f.querySelector('figcaption')!.textContent ?? '', canvases: Array.from(f.querySelectorAll('canvas')) }));
  const cellW = Math.max(...pairs.map((p) => p.canvases.reduce((s, c) => s + c.width + 8, 0))) + 16;
  const cellH = Math.max(...pairs.map((p) => Math.max(...p.canvases.map((c) => c.height)))) + 28;
  const columns = Math.min(4, pairs.length);
  out.width = columns * cellW;
  out.height = Math.ceil(pairs.length / columns) * cellH;
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = '#222';
  ctx.font = '14px system-ui, sans-serif';
  pairs.forEach((p, i) => {
    let x = (i % columns) * cellW + 8;
    const y = Math.floor(i / columns) * cellH;
    ctx.fillText(p.caption, x, y + 18);
    for (const c of p.canvases) { ctx.drawImage(c, x, y + 24); x += c.width + 8; }
  });
  return out;
}

/** The Fashion-MNIST test subset shipped in public/data, as grey RGBA pixels (decoded once). */
let fashionTest: Promise<PixelDataset> | null = null;
function fashionTestSubset(width: number, height: number): Promise<PixelDataset> {
  fashionTest ??= (async () => {
    const base = `${import.meta.env.BASE_URL}data/fashion-mnist-test`;
    const [images, labels] = await Promise.all(['images', 'labels'].map(async (what) => {
      const response = await fetch(`${base}-${what}.idx.gz`);
      if (!response.ok) throw new Error(`${base}-${what}.idx.gz: HTTP ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    }));
    const loaded = await loadIdxDataset(images!, labels, 1);
    const [, h, w] = loaded.shape;
    const plane = h * w;
    const pixels = Array.from({ length: loaded.count }, (_, i) => {
      const rgba = new ImageData(w, h);
      for (let p = 0; p < plane; p++) {
        const v = loaded.images[i * plane + p]!;
        rgba.data.set([v, v, v, 255], p * 4);
      }
      return rgba;
    });
    return { names: pixels.map((_, i) => `test image ${i} (label ${loaded.labels![i]})`), pixels };
  })().catch((e: unknown) => { fashionTest = null; throw e; });
  return fashionTest.then((d) => {
    if (d.pixels[0] && (d.pixels[0].width !== width || d.pixels[0].height !== height)) {
      throw new Error(`the Fashion-MNIST subset is ${d.pixels[0].width}x${d.pixels[0].height}, the model takes ${width}x${height}`);
    }
    return d;
  });
}
