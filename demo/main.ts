// The demo page: only UI. Everything it computes comes from the library.
import {
  createRuntime, createDefaultModel, createDeconvNet, featureMapGrid, projectionToImage, loadSavedModel,
  type ForwardResult, type ProjectionMode, type DefaultModel, type Runtime,
} from '../src/index.js';
import { drawImage, imageToTensorData } from '../src/render/canvas.js';
import samplesFile from './samples/fashion-mnist-samples.json';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $<HTMLParagraphElement>('status');
const GRID_SCALE = 4;
const IMAGE_SCALE = 8;

/** Errors the GPU reported outside any error scope; the e2e test reads them. */
const gpuErrors: string[] = [];
(window as unknown as { __gpuErrors: string[] }).__gpuErrors = gpuErrors;

async function main() {
  if (!navigator.gpu) {
    status.textContent = 'WebGPU is not available in this browser. Use Chrome 113 or later (or enable chrome://flags/#enable-unsafe-webgpu), on a machine with a supported GPU.';
    status.className = 'error';
    return;
  }
  const runtime = await createRuntime();
  runtime.device.addEventListener('uncapturederror', (e) => gpuErrors.push((e as GPUUncapturedErrorEvent).error.message));
  const net = await loadBestModel(runtime);
  const { model } = net;
  const deconv = createDeconvNet(model);
  $('model-note').textContent = `Model: ${net.description}.`;

  const layerSelect = $<HTMLSelectElement>('layer');
  for (const info of model.info) {
    if (info.outputShape.length !== 3) continue; // feature maps only
    layerSelect.add(new Option(`${info.name} (${info.kind}) ${info.outputShape.join('x')}`, info.name));
  }
  layerSelect.value = 'conv2';

  let fwd: ForwardResult | null = null;
  let tiles: ReturnType<typeof featureMapGrid>['tiles'] = [];
  let selected: { layer: string; channel: number } | null = null;

  const modeNow = () => (document.querySelector<HTMLInputElement>('input[name=mode]:checked')!.value as ProjectionMode);

  async function showImage(pixels: Float32Array) {
    drawImage($('input'), projectionToImage(centre(pixels), [1, 1, 28, 28]), IMAGE_SCALE);
    fwd?.release();
    fwd = await model.forward(pixels);
    const probs = await fwd.readOutput();
    const best = probs.indexOf(Math.max(...probs));
    $('prediction').textContent = `Prediction: ${net.classes[best]} (${(100 * probs[best]!).toFixed(1)}%)${net.trained ? '' : ' — untrained model'}`;
    await showLayer();
    if (selected) await project();
  }

  async function showLayer() {
    if (!fwd) return;
    const layer = layerSelect.value;
    const act = fwd.activation(layer);
    const grid = featureMapGrid(await act.read(), act.shape);
    tiles = grid.tiles;
    drawImage($('grid'), grid.image, GRID_SCALE);
    $('layer-shape').textContent = `${layer}: ${act.shape.slice(1).join(' x ')} (channels x height x width)`;
  }

  async function project() {
    if (!fwd || !selected) return;
    const mode = modeNow();
    const projection = await deconv.project(fwd, { layer: selected.layer, channel: selected.channel, mode });
    const [{ data, shape }, [pos]] = await Promise.all([projection.read(), projection.positions()]);
    projection.release();
    drawImage($('projection'), projectionToImage(data, shape), IMAGE_SCALE);
    $('projection-label').textContent = `${selected.layer}, channel ${selected.channel}, strongest activation at (${pos?.y}, ${pos?.x}), ${mode}`;
    $('projection').dataset.channel = String(selected.channel);
  }

  $('grid').addEventListener('click', async (event) => {
    const canvas = event.currentTarget as HTMLCanvasElement;
    const rect = canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) * canvas.width) / rect.width / GRID_SCALE;
    const y = ((event.clientY - rect.top) * canvas.height) / rect.height / GRID_SCALE;
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
    thumb.title = net.classes[samplesFile.samples[i]!.label]!;
    thumb.dataset.testid = 'sample';
    drawImage(thumb, projectionToImage(centre(pixels), [1, 1, 28, 28]), 1);
    thumb.addEventListener('click', async () => {
      strip.querySelectorAll('canvas').forEach((c) => c.classList.remove('selected'));
      thumb.classList.add('selected');
      await showImage(pixels);
    });
    strip.append(thumb);
  });
  $<HTMLInputElement>('file').addEventListener('change', async (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file) await showImage(await imageToTensorData(file, { width: 28, height: 28, channels: 1 }));
  });

  status.textContent = `WebGPU ready (${runtime.device.adapterInfo?.vendor || 'adapter'} ${runtime.device.adapterInfo?.architecture || ''}).`;
  $('app').hidden = false;
  (strip.firstElementChild as HTMLCanvasElement).classList.add('selected');
  await showImage(samples[0]!);
  document.body.dataset.ready = 'true';
}

/**
 * The model trained by `npm run train` (demo/public/models), or, where it is
 * missing, the untrained Gabor net, labelled as such.
 */
async function loadBestModel(runtime: Runtime): Promise<DefaultModel> {
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
