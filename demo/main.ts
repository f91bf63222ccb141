// The demo page: only UI. Everything it computes comes from the library.
import {
  createRuntime, createDefaultModel, createDeconvNet, featureMapGrid, projectionToImage, loadSavedModel, loadModel, tuneModel,
  type ForwardResult, type ProjectionMode, type DefaultModel, type Runtime, type Model, type DeconvNet,
} from '../src/index.js';
import { drawImage, imageToTensorData } from '../src/render/canvas.js';
import samplesFile from './samples/fashion-mnist-samples.json';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $<HTMLParagraphElement>('status');
const GRID_SCALE = 4;

/** Errors the GPU reported outside any error scope; the e2e test reads them. */
const gpuErrors: string[] = [];
(window as unknown as { __gpuErrors: string[] }).__gpuErrors = gpuErrors;

async function main() {
  if (!navigator.gpu) {
    status.textContent = 'WebGPU is not available in this browser. Use Chrome 113 or later (or enable chrome://flags/#enable-unsafe-webgpu), on a machine with a supported GPU.';
    status.className = 'error';
    return;
  }
  // Kernel choices measured by "Tune" persist in localStorage under the adapter's name.
  const runtime = await createRuntime({ tuningCache: true });
  runtime.device.addEventListener('uncapturederror', (e) => gpuErrors.push((e as GPUUncapturedErrorEvent).error.message));
  const best = await loadBestModel(runtime);
  // What is on show: the built-in model, or one the user loaded.
  let net: { model: Model; classes: string[] | null; trained: boolean; description: string } = best;
  let deconv: DeconvNet = createDeconvNet(net.model);
  /** The image as the user gave it: a sample (28x28 grey, [0, 1]) or a picked file. */
  let image: { pixels: Float32Array } | { file: File } = { pixels: new Float32Array(28 * 28) };

  const layerSelect = $<HTMLSelectElement>('layer');
  let fwd: ForwardResult | null = null;
  let tiles: ReturnType<typeof featureMapGrid>['tiles'] = [];
  let gridScale = GRID_SCALE;
  let selected: { layer: string; channel: number } | null = null;

  const modeNow = () => (document.querySelector<HTMLInputElement>('input[name=mode]:checked')!.value as ProjectionMode);
  const inputShape = () => {
    const s = net.model.inputShape;
    return (s.length === 3 ? s : [1, 1, s[0] ?? 1]) as [number, number, number];
  };

  function useModel(next: typeof net, preferredLayer?: string) {
    fwd?.release();
    fwd = null;
    selected = null;
    if (net !== next && net !== best) net.model.destroy();
    net = next;
    deconv = createDeconvNet(net.model);
    $('model-note').textContent = `Model: ${net.description}.`;
    layerSelect.replaceChildren();
    const maps = net.model.info.filter((info) => info.outputShape.length === 3 && info.projectable); // feature maps only
    for (const info of maps) layerSelect.add(new Option(`${info.name} (${info.kind}) ${info.outputShape.join('x')}`, info.name));
    layerSelect.value = preferredLayer && maps.some((m) => m.name === preferredLayer) ? preferredLayer : maps[Math.floor(maps.length / 2)]?.name ?? '';
  }

  /** The current image as the model's input [C, H, W]: samples are resized and repeated over channels. */
  async function modelInput(): Promise<Float32Array> {
    const [c, h, w] = inputShape();
    if ('file' in image) return imageToTensorData(image.file, { width: w, height: h, channels: c === 3 ? 3 : 1 });
    const out = new Float32Array(c * h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const v = image.pixels[Math.min(27, Math.floor((y * 28) / h)) * 28 + Math.min(27, Math.floor((x * 28) / w))]!;
      for (let k = 0; k < c; k++) out[(k * h + y) * w + x] = v;
    }
    return out;
  }

  async function showImage() {
    const pixels = await modelInput();
    const [c, h, w] = inputShape();
    const scale = Math.max(1, Math.round(224 / Math.max(h, w)));
    drawImage($('input'), projectionToImage(centre(pixels), [1, c, h, w]), scale);
    fwd?.release();
    fwd = await net.model.forward(pixels);
    const out = await fwd.readOutput();
    const top = out.indexOf(Math.max(...out));
    const label = net.classes?.[top] ?? `output ${top}`;
    $('prediction').textContent = `Prediction: ${label} (${out.length > 1 ? `${(100 * out[top]!).toFixed(1)}%` : out[top]!.toFixed(3)})${net.trained ? '' : ' — untrained model'}`;
    await showLayer();
    if (selected) await project();
  }

  async function showLayer() {
    if (!fwd || !layerSelect.value) return;
    const layer = layerSelect.value;
    const act = fwd.activation(layer);
    const grid = featureMapGrid(await act.read(), act.shape);
    tiles = grid.tiles;
    // Small maps (the default model's 14x14) at x4; larger ones of imported models smaller.
    gridScale = Math.max(1, Math.round((GRID_SCALE * 14) / Math.max(act.shape[2]!, act.shape[3]!)));
    drawImage($('grid'), grid.image, gridScale);
    $('layer-shape').textContent = `${layer}: ${act.shape.slice(1).join(' x ')} (channels x height x width)`;
  }

  async function project() {
    if (!fwd || !selected) return;
    const mode = modeNow();
    const projection = await deconv.project(fwd, { layer: selected.layer, channel: selected.channel, mode });
    const [{ data, shape }, [pos]] = await Promise.all([projection.read(), projection.positions()]);
    projection.release();
    drawImage($('projection'), projectionToImage(data, shape), Math.max(1, Math.round(224 / Math.max(shape[2]!, shape[3]!))));
    $('projection-label').textContent = `${selected.layer}, channel ${selected.channel}, strongest activation at (${pos?.y}, ${pos?.x}), ${mode}`;
    $('projection').dataset.channel = String(selected.channel);
  }

  $('grid').addEventListener('click', async (event) => {
    const canvas = event.currentTarget as HTMLCanvasElement;
    const rect = canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) * canvas.width) / rect.width / gridScale;
    const y = ((event.clientY - rect.top) * canvas.height) / rect.height / gridScale;
    const tile = tiles.find((t) => x >= t.x && x < t.x + t.width && y >= t.y && y < t.y + t.height);
    if (!tile) return;
    selected = { layer: layerSelect.value, channel: tile.channel };
    await project();
  });
  layerSelect.addEventListener('change', async () => { selected = null; await showLayer(); });
  for (const radio of document.querySelectorAll('input[name=mode]')) radio.addEventListener('change', () => void project());

  // Sample thumbnails.
  const samples = samplesFile.samples.map((s) => Float32Array.from(atob(s.pixels), (ch) => ch.charCodeAt(0) / 255));
  const strip = $('samples');
  samples.forEach((pixels, i) => {
    const thumb = document.createElement('canvas');
    thumb.title = best.classes[samplesFile.samples[i]!.label]!;
    thumb.dataset.testid = 'sample';
    drawImage(thumb, projectionToImage(centre(pixels), [1, 1, 28, 28]), 1);
    thumb.addEventListener('click', async () => {
      strip.querySelectorAll('canvas').forEach((c) => c.classList.remove('selected'));
      thumb.classList.add('selected');
      image = { pixels };
      await showImage();
    });
    strip.append(thumb);
  });
  $<HTMLInputElement>('file').addEventListener('change', async (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    image = { file };
    await showImage();
  });
  // Bring your own model: .onnx, a TF.js model.json with its shards, or a saved manifest + .bin.
  $<HTMLInputElement>('model-file').addEventListener('change', async (e) => {
    const files = (e.target as HTMLInputElement).files;
    if (!files || files.length === 0) return;
    const note = $('model-error');
    note.textContent = 'Loading…';
    try {
      const loaded = await loadModel(runtime, files);
      const [c, h, w] = loaded.model.inputShape;
      useModel({ model: loaded.model, classes: null, trained: true, description: `${loaded.source} (${loaded.format}, input ${[c, h, w].filter((d) => d !== undefined).join('x')}, ${loaded.model.info.length} nodes)` });
      note.textContent = '';
      await showImage();
    } catch (err) {
      note.textContent = `Could not load the model: ${err instanceof Error ? err.message : String(err)}`;
    }
    document.body.dataset.modelLoads = String(Number(document.body.dataset.modelLoads ?? 0) + 1);
  });

  // Kernel tuning for the model on show (forward and projection shapes at batch 1).
  $('tune').addEventListener('click', async () => {
    const button = $<HTMLButtonElement>('tune');
    const note = $('tune-note');
    button.disabled = true;
    note.textContent = 'Timing each kernel variant on this GPU…';
    const start = performance.now();
    try {
      const results = await tuneModel(net.model, 1);
      const seconds = ((performance.now() - start) / 1000).toFixed(1);
      const picks = new Map<string, number>();
      for (const r of results) picks.set(`${r.op} ${r.variant}`, (picks.get(`${r.op} ${r.variant}`) ?? 0) + 1);
      note.textContent = `Tuned ${results.length} kernel shapes in ${seconds} s (${results.filter((r) => r.source === 'measured').length} measured now): `
        + [...picks].map(([pick, n]) => `${pick} x${n}`).join(', ');
      await showImage();
    } catch (err) {
      note.textContent = `Tuning failed: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      button.disabled = false;
      document.body.dataset.tuned = String(Number(document.body.dataset.tuned ?? 0) + 1);
    }
  });

  useModel(best, 'conv2');
  image = { pixels: samples[0]! };
  status.textContent = `WebGPU ready (${runtime.device.adapterInfo?.vendor || 'adapter'} ${runtime.device.adapterInfo?.architecture || ''}).`;
  $('app').hidden = false;
  (strip.firstElementChild as HTMLCanvasElement).classList.add('selected');
  await showImage();
  document.body.dataset.ready = 'true';
}

/**
 * The model trained by `npm run train` (demo/public/models), or, where it is
 * missing, the untrained Gabor net, labelled as such.
 */
async function loadBestModel(runtime: Runtime): Promise<DefaultModel & { classes: string[] }> {
  const base = `${import.meta.env.BASE_URL}models/fashion-zfnet`;
  const [manifest, weights] = await Promise.all([
    fetch(`${base}.json`).then((r) => (r.ok ? r.json() : null)).catch(() => null),
    fetch(`${base}.bin`).then((r) => (r.ok ? r.arrayBuffer() : null)).catch(() => null),
  ]);
  if (!manifest || !weights) return createDefaultModel(runtime);
  const model = loadSavedModel(runtime, manifest, new Uint8Array(weights), `${base}.json`);
  const meta = manifest.metadata as { classes: string[]; testAccuracy: number; epochsDone: number };
  return {
    model, trained: true, classes: meta.classes,
    description: `trained on Fashion-MNIST by npm run train (${meta.epochsDone} epochs, ${(100 * meta.testAccuracy).toFixed(1)}% on the 10,000 test images)`,
  };
}

/** Images in [0, 1] shown with the projection's grey-centred scale would look washed out: shift them to [-0.5, 0.5]. */
function centre(pixels: Float32Array): Float32Array {
  return pixels.map((v) => v - 0.5);
}

main().catch((e: unknown) => {
  status.textContent = `Error: ${e instanceof Error ? e.message : String(e)}`;
  status.className = 'error';
  console.error(e);
});
