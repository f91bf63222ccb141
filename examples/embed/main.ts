// A small WebGPU app that embeds deconvnet-webgpu. The app owns the GPUDevice,
// the canvas and its render pipeline (two textured quads); the library borrows
// the device, reads the app's photo texture as the model's input, and draws
// the projection of one unit into a texture the app samples. A frame is one
// library submit (input -> forward -> projection -> draw) and one app submit
// (the scene); nothing is read back to the CPU.
import type { Model } from '../../src/index.js';
import { createAnalysis, projectInto, type Analysis } from './projection.js';

/** Tiny VGG's classes, in output order (see the model's README.md, served beside it). */
const CLASSES = ['lifeboat', 'ladybug', 'pizza', 'bell pepper', 'school bus', 'koala', 'espresso', 'red panda', 'orange', 'sport car'];
const SAMPLES = ['bug_1.jpeg', 'koala_1.jpeg', 'bus_1.jpeg', 'orange_1.jpeg', 'pizza_1.jpeg'];
const INPUT_SIZE = 64;

/** What the page reports, for people and for e2e/embed.spec.ts. */
interface EmbedStatus {
  state: 'starting' | 'ready' | 'error';
  frames: number;
  /** Wall time of the last frame, from recording to the GPU queue being done. */
  lastFrameMs: number;
  /** GPU bytes the library holds (pooled buffers, pipelines' uniforms): flat from frame to frame. */
  gpuBytes: number;
  layer: string;
  channel: number;
  /** The top class of the photo on show (read once per photo, outside the frame path). */
  prediction: string;
  /** Uncaptured GPU errors, device loss, and errors thrown while making a frame. */
  errors: string[];
}

declare global {
  interface Window { embed: EmbedStatus }
}

const status: EmbedStatus = { state: 'starting', frames: 0, lastFrameMs: 0, gpuBytes: 0, layer: '', channel: 0, prediction: '', errors: [] };
window.embed = status;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const canvas = $<HTMLCanvasElement>('scene');
const sampleSelect = $<HTMLSelectElement>('sample');
const layerSelect = $<HTMLSelectElement>('layer');
const channelInput = $<HTMLInputElement>('channel');
const animateBox = $<HTMLInputElement>('animate');
const statusLine = $<HTMLDivElement>('status');

function report(): void {
  const lines = status.state === 'starting' ? ['starting…'] : [
    `photo: predicted ${status.prediction}`,
    `projection of ${status.layer} channel ${status.channel}`,
    `frames: ${status.frames}, last frame ${status.lastFrameMs.toFixed(1)} ms (GPU queue done), library GPU memory ${(status.gpuBytes / 1024).toFixed(0)} KiB`,
  ];
  if (status.errors.length > 0) lines.push(...status.errors.map((e) => `error: ${e}`));
  statusLine.textContent = lines.join('\n');
  statusLine.classList.toggle('error', status.state === 'error' || status.errors.length > 0);
}

function fail(e: unknown): void {
  status.errors.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  status.state = 'error';
  report();
}

// ---- the app's own WebGPU: device, canvas, textured-quad pipeline ---------------

async function createAppDevice(): Promise<GPUDevice> {
  if (!navigator.gpu) throw new Error('WebGPU is not available in this browser');
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const device = await adapter.requestDevice({ label: 'embedding app' });
  device.addEventListener('uncapturederror', (e) => fail(`uncaptured GPU error: ${(e as GPUUncapturedErrorEvent).error.message}`));
  void device.lost.then((info) => { if (info.reason !== 'destroyed') fail(`device lost: ${info.message}`); });
  return device;
}

const QUAD_SHADER = /* wgsl */ `
  // One textured quad: rect = (left, bottom, right, top) in clip space.
  @group(0) @binding(0) var<uniform> rect: vec4f;
  @group(0) @binding(1) var picture: texture_2d<f32>;
  @group(0) @binding(2) var pixels: sampler;

  struct Corner { @builtin(position) position: vec4f, @location(0) uv: vec2f }

  @vertex fn vs(@builtin(vertex_index) i: u32) -> Corner {
    let c = vec2f(f32(i & 1u), f32(i >> 1u)); // triangle strip: (0,0) (1,0) (0,1) (1,1)
    return Corner(vec4f(mix(rect.xy, rect.zw, c), 0.0, 1.0), vec2f(c.x, 1.0 - c.y));
  }

  @fragment fn fs(at: Corner) -> @location(0) vec4f {
    return vec4f(textureSample(picture, pixels, at.uv).rgb, 1.0);
  }
`;

interface Scene {
  draw(): void;
}

/** The app's scene: `pictures[i]` drawn as a quad at `rects[i]` (clip space), on a dark background. */
function createScene(device: GPUDevice, context: GPUCanvasContext, format: GPUTextureFormat, pictures: GPUTexture[], rects: number[][]): Scene {
  const module = device.createShaderModule({ label: 'app quad', code: QUAD_SHADER });
  const pipeline = device.createRenderPipeline({
    label: 'app quad',
    layout: 'auto',
    vertex: { module, entryPoint: 'vs' },
    fragment: { module, entryPoint: 'fs', targets: [{ format }] },
    primitive: { topology: 'triangle-strip' },
  });
  // Nearest: a 64x64 picture shown large keeps its pixels.
  const sampler = device.createSampler({ magFilter: 'nearest', minFilter: 'nearest' });
  const bindGroups = pictures.map((texture, i) => {
    const rect = device.createBuffer({ label: `quad ${i} rect`, size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(rect, 0, new Float32Array(rects[i]!));
    return device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: rect } }, { binding: 1, resource: texture.createView() }, { binding: 2, resource: sampler }],
    });
  });
  return {
    draw() {
      const encoder = device.createCommandEncoder({ label: 'app scene' });
      const pass = encoder.beginRenderPass({
        colorAttachments: [{ view: context.getCurrentTexture().createView(), loadOp: 'clear', clearValue: { r: 0.07, g: 0.09, b: 0.16, a: 1 }, storeOp: 'store' }],
      });
      pass.setPipeline(pipeline);
      for (const group of bindGroups) {
        pass.setBindGroup(0, group);
        pass.draw(4);
      }
      pass.end();
      device.queue.submit([encoder.finish()]);
    },
  };
}

/** The app's photo texture (rgba8unorm: a format the library's GPU input reads as it is). */
function createPhotoTexture(device: GPUDevice): GPUTexture {
  return device.createTexture({
    label: 'app photo',
    size: [INPUT_SIZE, INPUT_SIZE],
    format: 'rgba8unorm',
    // RENDER_ATTACHMENT: copyExternalImageToTexture needs it.
    usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST | GPUTextureUsage.RENDER_ATTACHMENT,
  });
}

/** Where the library draws the projection: the app samples it like any texture. */
function createProjectionTexture(device: GPUDevice): GPUTexture {
  return device.createTexture({
    label: 'projection',
    size: [INPUT_SIZE, INPUT_SIZE],
    format: 'rgba8unorm',
    usage: GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.TEXTURE_BINDING,
  });
}

async function loadPhoto(device: GPUDevice, texture: GPUTexture, name: string): Promise<ImageBitmap> {
  const response = await fetch(`samples/${name}`);
  if (!response.ok) throw new Error(`samples/${name}: HTTP ${response.status}`);
  const bitmap = await createImageBitmap(await response.blob(), { resizeWidth: INPUT_SIZE, resizeHeight: INPUT_SIZE, resizeQuality: 'high' });
  device.queue.copyExternalImageToTexture({ source: bitmap }, { texture }, [INPUT_SIZE, INPUT_SIZE]);
  return bitmap;
}

// ---- the library's part, besides projectInto (./projection.ts) ------------------

/** The top class of the photo: a readback, but once per photo, not per frame. */
async function predictClass(a: Analysis, photo: ImageBitmap): Promise<string> {
  const x = await a.input.toTensor(photo);
  try {
    const probs = await a.model.predict(x);
    let best = 0;
    for (let i = 1; i < probs.length; i++) if (probs[i]! > probs[best]!) best = i;
    return `${CLASSES[best] ?? `class ${best}`} (${(probs[best]! * 100).toFixed(0)}%)`;
  } finally {
    x.release();
  }
}

/** Layers a projection can start from: those with feature maps computed from the pixels. */
function projectableLayers(model: Model): Array<{ name: string; kind: string; channels: number }> {
  return model.info.filter((n) => n.projectable && n.outputShape.length === 3).map((n) => ({ name: n.name, kind: n.kind, channels: n.outputShape[0]! }));
}

// ---- wiring ---------------------------------------------------------------------

async function main(): Promise<void> {
  const device = await createAppDevice();
  const context = canvas.getContext('webgpu');
  if (!context) throw new Error('the canvas has no WebGPU context');
  const format = navigator.gpu.getPreferredCanvasFormat();
  context.configure({ device, format, alphaMode: 'opaque' });

  const photo = createPhotoTexture(device);
  const projection = createProjectionTexture(device);
  // Two squares side by side, a margin around each (clip space is -1..1 both ways).
  const scene = createScene(device, context, format, [photo, projection], [[-0.9375, -0.875, -0.0625, 0.875], [0.0625, -0.875, 0.9375, 0.875]]);
  const analysis = await createAnalysis(device, 'model.json', INPUT_SIZE);

  const layers = projectableLayers(analysis.model);
  for (const l of layers) layerSelect.add(new Option(`${l.name} (${l.channels} channels)`, l.name));
  // Default: the last convolution, whose units see most of the picture.
  layerSelect.value = (layers.filter((l) => /conv/i.test(l.kind)).at(-1) ?? layers.at(-1)!).name;
  for (const s of SAMPLES) sampleSelect.add(new Option(s.replace('.jpeg', ''), s));

  let busy = false;
  let again = false;
  async function frame(): Promise<void> {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const layer = layerSelect.value;
      const channels = layers.find((l) => l.name === layer)!.channels;
      channelInput.max = String(channels - 1);
      const channel = Math.min(Math.max(0, Math.floor(Number(channelInput.value) || 0)), channels - 1);
      const start = performance.now();
      const done = projectInto(analysis, photo, projection, layer, channel);
      scene.draw(); // queued after the library's submit, so it samples this frame's projection
      await done;
      await device.queue.onSubmittedWorkDone(); // only to time the frame
      Object.assign(status, { frames: status.frames + 1, lastFrameMs: performance.now() - start, gpuBytes: analysis.runtime.bytesHeld, layer, channel });
      if (status.state === 'starting') status.state = 'ready';
      report();
    } catch (e) {
      fail(e);
    } finally {
      busy = false;
    }
    if (animateBox.checked) {
      const channels = layers.find((l) => l.name === layerSelect.value)!.channels;
      channelInput.value = String((Number(channelInput.value) + 1) % channels);
      requestAnimationFrame(() => void frame());
    } else if (again) {
      again = false;
      void frame();
    }
  }

  async function showPhoto(): Promise<void> {
    const bitmap = await loadPhoto(device, photo, sampleSelect.value);
    try {
      status.prediction = await predictClass(analysis, bitmap);
    } finally {
      bitmap.close();
    }
    await frame();
  }

  sampleSelect.addEventListener('change', () => void showPhoto().catch(fail));
  layerSelect.addEventListener('change', () => void frame());
  channelInput.addEventListener('input', () => void frame());
  animateBox.addEventListener('change', () => { if (animateBox.checked) void frame(); });
  await showPhoto();
}

main().catch(fail);
