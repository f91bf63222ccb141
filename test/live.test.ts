// Live mode (src/io/live.ts) driven on a canvas whose picture changes every
// frame: the drawn projection follows the frames, it matches the CPU
// rendering of the projection the library computes for the same pixels,
// GPU memory stays flat over 500 frames, and stopping (or losing the device)
// frees everything.
import { describe, it, expect } from 'vitest';
import {
  createModel, createRuntime, createDeconvNet, startLive, openCamera, imageToTensor, projectionToImage,
  Conv2D, ReLU, MaxPool2D, Flatten, Dense, CameraError, DeviceLostError, NotReadyError, OutOfRangeError, type Runtime,
} from '../src/index.js';
import { getRuntime } from './helpers/gpu.js';
import { readTexture, renderTarget as target } from './helpers/texture.js';

function smallNet(rt: Runtime) {
  return createModel(rt, {
    inputShape: [3, 16, 16],
    layers: [
      new Conv2D({ name: 'conv1', filters: 4, kernelSize: 3, padding: 'same', seed: 3 }),
      new ReLU({ name: 'relu1' }),
      new MaxPool2D({ name: 'pool1', kernel: 2, stride: 2 }),
      new Conv2D({ name: 'conv2', filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', seed: 4 }),
      // A head live mode need not run (its forward stops at the deepest layer shown).
      new Flatten({ name: 'flatten' }), new Dense({ name: 'fc', units: 5, seed: 5 }),
    ],
  });
}

/** A 24x20 canvas showing a bright square that moves with the frame number. */
function movingSquare(): { canvas: HTMLCanvasElement; drawFrame: (i: number) => void } {
  const canvas = document.createElement('canvas');
  canvas.width = 24;
  canvas.height = 20;
  const ctx = canvas.getContext('2d')!;
  const drawFrame = (i: number) => {
    ctx.fillStyle = 'rgb(40, 60, 90)';
    ctx.fillRect(0, 0, 24, 20);
    ctx.fillStyle = 'rgb(250, 230, 40)';
    ctx.fillRect((i * 3) % 18, (i * 5) % 14, 6, 6);
  };
  drawFrame(0);
  return { canvas, drawFrame };
}

describe('live mode', () => {
  it('draws each frame\'s projection as the library computes it; memory stays flat over 500 frames', async () => {
    const rt = await getRuntime();
    const model = smallNet(rt);
    const { canvas, drawFrame } = movingSquare();
    const projection = target(rt, 16, 16);
    const input = target(rt, 16, 16);
    const grid2d = document.createElement('canvas');
    const live = startLive({
      model, source: canvas, unit: { layer: 'conv2', channel: 2 }, fit: 'crop', schedule: 'manual',
      targets: { projection, input, grid: grid2d }, present: 'readback',
    });
    const held: number[] = [];
    const pictures: string[] = [];
    for (let frame = 0; frame < 500; frame++) {
      drawFrame(frame);
      await live.renderFrame();
      held.push(rt.bytesHeld + live.bytesHeld);
      if (frame < 3) {
        const drawn = await readTexture(rt, projection);
        pictures.push(Array.from(drawn).join(','));
        // The same pixels through the library step by step (the whole forward), rendered on the CPU.
        const x = await imageToTensor(rt, canvas, { shape: [3, 16, 16], fit: 'crop' });
        const fwd = await model.forward(x);
        const proj = await createDeconvNet(model).project(fwd, { layer: 'conv2', channel: 2 });
        const { data, shape } = await proj.read();
        const expected = projectionToImage(data, shape);
        const worst = drawn.reduce((m, v, i) => Math.max(m, Math.abs(v - expected.data[i]!)), 0);
        expect(worst, `frame ${frame}: drawn projection vs projectionToImage`).toBeLessThanOrEqual(1);
        proj.release(); fwd.release(); x.release();
      }
    }
    expect(live.frames).toBe(500);
    expect(new Set(pictures).size, 'the projection changes from frame to frame').toBe(3);
    expect(Math.max(...held.slice(10)), 'GPU bytes held after warm-up').toBe(Math.min(...held.slice(10)));
    // The readback canvas shows the grid: conv2's 6 maps of 8x8 in 3 columns.
    expect([grid2d.width, grid2d.height]).toEqual([3 * 9 + 1, 2 * 9 + 1]);
    expect(live.fps).toBeGreaterThan(0);
    // A frame is one submit: picture in, forward, projection, the three drawings and the readback copy.
    const submits = rt.stats.submits;
    await live.renderFrame();
    expect(rt.stats.submits - submits).toBe(1);
    const snap = await live.snapshot();
    expect(snap.shape).toEqual([1, 3, 16, 16]);
    const before = rt.bytesHeld;
    live.stop();
    expect(await live.stopped).toBeNull();
    expect(live.bytesHeld).toBe(0);
    expect(rt.bytesHeld).toBe(before); // its tensors went back to the pool
    await expect(live.renderFrame()).rejects.toThrow(/after stop/);
    projection.destroy(); input.destroy();
    model.destroy();
  });

  it('runs on animation frames until stopped, reporting each frame', async () => {
    const rt = await getRuntime();
    const model = smallNet(rt);
    const { canvas } = movingSquare();
    const projection = target(rt, 16, 16);
    const seen: number[] = [];
    const live = startLive({ model, source: canvas, unit: { layer: 'conv1', channel: 0, mode: 'guided' }, targets: { projection }, onFrame: (f) => seen.push(f.frames) });
    await expect.poll(() => live.frames, { timeout: 30_000 }).toBeGreaterThanOrEqual(5);
    live.stop();
    const frames = live.frames;
    await new Promise((r) => setTimeout(r, 200));
    expect(live.frames).toBe(frames);
    expect(seen.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    projection.destroy();
    model.destroy();
  });

  it('stops cleanly with a DeviceLostError when the device is lost', async () => {
    const rt = await createRuntime();
    const model = smallNet(rt);
    const { canvas } = movingSquare();
    const errors: Error[] = [];
    const projection = target(rt, 16, 16);
    const live = startLive({ model, source: canvas, unit: { layer: 'conv2', channel: 0 }, targets: { projection }, onError: (e) => errors.push(e) });
    await expect.poll(() => live.error ?? live.frames, { timeout: 60_000 }).toBeGreaterThanOrEqual(1);
    rt.device.destroy();
    const error = await live.stopped;
    expect(error).toBeInstanceOf(DeviceLostError);
    expect(errors).toHaveLength(1);
    expect(live.running).toBe(false);
    expect(live.bytesHeld).toBe(0);
    rt.destroy();
  });

  it('refuses a video with no frame and a unit that does not exist', async () => {
    const rt = await getRuntime();
    const model = smallNet(rt);
    const video = document.createElement('video');
    const targets = {};
    expect(() => startLive({ model, source: video, unit: { layer: 'conv1', channel: 0 }, targets })).toThrow(NotReadyError);
    const { canvas } = movingSquare();
    expect(() => startLive({ model, source: canvas, unit: { layer: 'conv9', channel: 0 }, targets })).toThrow(OutOfRangeError);
    expect(() => startLive({ model, source: canvas, unit: { layer: 'conv1', channel: 4 }, targets })).toThrow(/channel 4 of layer "conv1" is out of range \(0..3\)/);
    model.destroy();
  });

  it('openCamera without a camera or permission is a CameraError, not a hang', async () => {
    // This browser runs without the fake camera: getUserMedia is refused or finds no device.
    const result = await Promise.race([
      openCamera({ timeoutMs: 5000 }).then((video) => video, (e: unknown) => e),
      new Promise((r) => setTimeout(() => r('timeout'), 15_000)),
    ]);
    if (result instanceof HTMLVideoElement) return; // a real camera answered: nothing to check here
    expect(result).toBeInstanceOf(CameraError);
    expect(['denied', 'not-found', 'busy', 'unavailable']).toContain((result as CameraError).reason);
  });
});
