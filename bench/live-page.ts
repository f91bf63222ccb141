// Page side of bench/live.ts: live mode on Tiny VGG, frames from a video of
// an animated canvas (canvas.captureStream, a real HTMLVideoElement as a
// camera gives), each frame drawn as the model's input, the feature-map grid
// of a conv layer and the projection of one of its channels.
import { createRuntime, loadModel, startLive, tuneModel, UNIT_RANGE, type LiveTarget, type Runtime, type Model } from '../src/index.js';

declare function nodeReadFile(path: string): Promise<string>;

async function file(path: string, name: string): Promise<File> {
  const bytes = Uint8Array.from(atob(await nodeReadFile(path)), (c) => c.charCodeAt(0));
  return new File([bytes], name);
}

/** A 320x240 video of a moving, colour-cycling scene. */
async function movingVideo(): Promise<{ video: HTMLVideoElement; stop: () => void }> {
  const canvas = document.createElement('canvas');
  canvas.width = 320;
  canvas.height = 240;
  const ctx = canvas.getContext('2d')!;
  let t = 0;
  const paint = () => {
    t++;
    ctx.fillStyle = `hsl(${(t * 3) % 360}, 60%, 40%)`;
    ctx.fillRect(0, 0, 320, 240);
    ctx.fillStyle = '#fe4';
    ctx.beginPath();
    ctx.arc(160 + 100 * Math.cos(t / 15), 120 + 80 * Math.sin(t / 11), 40, 0, 2 * Math.PI);
    ctx.fill();
  };
  const timer = setInterval(paint, 1000 / 60);
  paint();
  const video = document.createElement('video');
  video.muted = true;
  video.srcObject = canvas.captureStream(60);
  await video.play();
  while (video.readyState < 2) await new Promise((r) => setTimeout(r, 20));
  return { video, stop: () => { clearInterval(timer); (video.srcObject as MediaStream).getTracks().forEach((k) => k.stop()); } };
}

/** A texture of a picture's own size (what a WebGPU canvas of the demo would be). */
function texture(rt: Runtime, [width, height]: [number, number]): GPUTexture {
  return rt.device.createTexture({ size: [width, height], format: 'rgba8unorm', usage: GPUTextureUsage.RENDER_ATTACHMENT });
}

async function measure(title: string, model: Model, video: HTMLVideoElement, layer: string, targets: Record<'input' | 'grid' | 'projection', LiveTarget>, present: 'webgpu' | 'readback', seconds: number) {
  // Back to back: how many frames the pipeline can draw (each frame waits for its GPU work: live mode's back-pressure).
  const manual = startLive({ model, source: video, unit: { layer, channel: 3 }, targets, present, preprocessing: UNIT_RANGE, schedule: 'manual' });
  for (let i = 0; i < 10; i++) await manual.renderFrame(); // warm-up: pipelines compiled, pools filled
  const held = model.runtime.bytesHeld + manual.bytesHeld;
  let frames = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) { await manual.renderFrame(); frames++; }
  const backToBack = (frames * 1000) / (performance.now() - t0);
  const flat = model.runtime.bytesHeld + manual.bytesHeld === held;
  // GPU time of the compute passes of a frame (timestamp queries; render passes are not timed), median of 10.
  const gpu: number[] = [];
  for (let i = 0; i < 10; i++) {
    const passes = await model.runtime.profile(() => manual.renderFrame());
    if (passes) gpu.push(passes.reduce((sum, p) => sum + p.ms, 0));
  }
  const gpuMs = gpu.sort((x, y) => x - y)[Math.floor(gpu.length / 2)] ?? NaN;
  manual.stop();
  // Scheduled on the video's frames (requestVideoFrameCallback), as the demo runs.
  const auto = startLive({ model, source: video, unit: { layer, channel: 3 }, targets, present, preprocessing: UNIT_RANGE });
  await new Promise((r) => setTimeout(r, 1000));
  const start = auto.frames, t1 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const scheduled = ((auto.frames - start) * 1000) / (performance.now() - t1);
  auto.stop();
  console.log(`${title}: ${backToBack.toFixed(1)} frames/s back to back (${(1000 / backToBack).toFixed(1)} ms a frame), ${scheduled.toFixed(1)} frames/s on the video's frames; compute passes ${gpuMs.toFixed(1)} ms GPU time a frame; GPU memory flat: ${flat}`);
  return { title, backToBack, scheduled, gpuMs, flat };
}

export async function main(a: { seconds: number; tune?: boolean }) {
  const rt = await createRuntime();
  const { model } = await loadModel(rt, [await file('../shared/models/tiny-vgg/model.json', 'model.json'), await file('../shared/models/tiny-vgg/group1-shard1of1.bin', 'group1-shard1of1.bin')]);
  const convs = model.info.filter((n) => n.outputShape.length === 3 && n.projectable && n.kind === 'Conv2D');
  const layer = convs[convs.length - 1]!.name;
  if (a.tune) {
    const start = performance.now();
    const picks = await tuneModel(model, 1);
    console.log(`tuned ${picks.length} kernel shapes in ${((performance.now() - start) / 1000).toFixed(1)} s: ${picks.map((p) => `${p.op} ${p.variant}`).join(', ')}`);
  }
  console.log(`adapter ${rt.kernelStyle} kernels${a.tune ? ' (tuned)' : ''}; Tiny VGG input [${model.inputShape}], unit ${layer} channel 3 [${convs.at(-1)!.outputShape}]`);
  const [, h, w] = model.inputShape as [number, number, number];
  const [c, mh, mw] = convs.at(-1)!.outputShape as [number, number, number];
  const columns = Math.ceil(Math.sqrt(c)); // featureMapGrid's layout with a 1-pixel gap
  const gridSize: [number, number] = [columns * (mw + 1) + 1, Math.ceil(c / columns) * (mh + 1) + 1];
  const { video, stop } = await movingVideo();
  const canvases = () => ({ input: document.createElement('canvas'), grid: document.createElement('canvas'), projection: document.createElement('canvas') });
  const results = [
    await measure('into GPU textures (an embedding app, or WebGPU canvases)', model, video, layer, { input: texture(rt, [w, h]), grid: texture(rt, gridSize), projection: texture(rt, [w, h]) }, 'webgpu', a.seconds),
    await measure('into 2-D canvases through readback (the demo on SwiftShader)', model, video, layer, canvases(), 'readback', a.seconds),
  ];
  stop();
  model.destroy();
  rt.destroy();
  return results;
}
