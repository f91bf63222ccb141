// The command-line analyses (npm run topk / occlusion) run in their own Node
// process on Dawn over PNG files; what they write (JSON and PNGs) must be what
// the library computes in this process on the same pixels. Skips where Dawn
// finds no adapter.
import { describe, it, expect, beforeAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dawnAvailable } from '../../scripts/node-gpu.js';
import { encodePng, tileImages, enlarge } from '../../scripts/image-io.js';

const run = promisify(execFile);
const MODEL = 'demo/public/models/tiny-vgg/model.json';
const haveDawn = await dawnAvailable();
if (!haveDawn) console.warn('test/node/cli: skipped, Dawn found no WebGPU adapter');

/** A 64x64 RGB picture: smooth colour waves that differ per image (RGBA bytes). */
function picture(seed: number): Uint8ClampedArray {
  const data = new Uint8ClampedArray(64 * 64 * 4);
  for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) {
    const i = (y * 64 + x) * 4;
    data[i] = 128 + 120 * Math.sin((x + seed * 7) / (4 + seed));
    data[i + 1] = 128 + 120 * Math.cos((y * (seed + 1)) / 9);
    data[i + 2] = ((x * y) / (seed + 2)) % 256;
    data[i + 3] = 255;
  }
  return data;
}

async function decodePng(path: string) {
  const { PNG } = await import('pngjs');
  return PNG.sync.read(readFileSync(path));
}

/** Pixels equal up to float rounding between two runs of the same kernels (at most 2 levels of 255). */
function expectSamePicture(actual: { width: number; height: number; data: Uint8Array }, expected: { width: number; height: number; data: Uint8ClampedArray }, what: string) {
  expect([actual.width, actual.height], what).toEqual([expected.width, expected.height]);
  let worst = 0;
  for (let i = 0; i < expected.data.length; i++) worst = Math.max(worst, Math.abs(actual.data[i]! - expected.data[i]!));
  expect(worst, `${what}: largest pixel difference`).toBeLessThanOrEqual(2);
}

describe.skipIf(!haveDawn)('command-line analyses on Dawn', () => {
  const dir = mkdtempSync(join(tmpdir(), 'deconvnet-cli-'));
  const images = [0, 1, 2].map((seed) => join(dir, `image${seed}.png`));
  let lib: typeof import('../../src/index.js');
  let loaded: Awaited<ReturnType<typeof import('../../src/index.js')['loadModel']>>;
  let inputs: Float32Array[];

  beforeAll(async () => {
    images.forEach((path, seed) => writeFileSync(path, encodePng({ width: 64, height: 64, data: picture(seed) })));
    lib = await import('../../src/index.js');
    const runtime = await lib.createRuntime();
    const files = ['model.json', 'group1-shard1of1.bin'].map((n) => new File([readFileSync(`demo/public/models/tiny-vgg/${n}`)], n));
    loaded = await lib.loadModel(runtime, files);
    // The pixels the CLI should have decoded, straight from the bytes written (tiny VGG takes pixels / 255).
    inputs = [0, 1, 2].map((seed) => lib.preprocessRgba(picture(seed), 64, 64, 3, lib.UNIT_RANGE));
  });

  it('npm run topk writes the top activations, patches and projections the library finds', async () => {
    const out = join(dir, 'topk');
    await run('npx', ['tsx', 'scripts/topk.ts', '--model', MODEL, '--images', dir, '--layers', 'conv_1_2', '--k', '2', '--channels', '1,4', '--out', out, '--host', 'dawn'], { timeout: 240_000 });
    const json = JSON.parse(readFileSync(join(out, 'topk.json'), 'utf8'));
    const [expected] = await lib.topActivations(loaded.model, inputs, { layers: ['conv_1_2'], k: 2, channels: [1, 4] });
    expect(json.images).toEqual(images);
    expect(json.layers).toHaveLength(1);
    expect(json.layers[0].selected).toEqual([1, 4]);
    for (const [i, channel] of [1, 4].entries()) {
      const got = json.layers[0].top[i];
      expect(got.channel).toBe(channel);
      const want = expected!.top[channel]!;
      expect(got.activations.map((t: { imageIndex: number; y: number; x: number }) => [t.imageIndex, t.y, t.x])).toEqual(want.map((t) => [t.imageIndex, t.y, t.x]));
      got.activations.forEach((t: { value: number; image: string; box: unknown }, r: number) => {
        expect(t.value).toBeCloseTo(want[r]!.value, 4);
        expect(t.image).toBe(images[want[r]!.imageIndex]);
        expect(t.box).toEqual(want[r]!.box);
      });
      const picture = tileImages([
        tileImages(want.map((t) => lib.projectionToImage(t.projection!.data, t.projection!.shape)), 2),
        tileImages(want.map((t) => lib.inputToImage(t.patch.data, t.patch.shape)), 2),
      ], 2, 4);
      expectSamePicture(await decodePng(join(out, `conv_1_2-c${channel}.png`)), picture, `conv_1_2-c${channel}.png`);
    }
  });

  it('npm run occlusion writes the maps the library computes', async () => {
    const out = join(dir, 'occlusion');
    await run('npx', ['tsx', 'scripts/occlusion.ts', '--model', MODEL, '--image', images[1]!, '--layer', 'conv_2_1', '--size', '16', '--stride', '8', '--out', out, '--host', 'dawn'], { timeout: 240_000 });
    const json = JSON.parse(readFileSync(join(out, 'occlusion.json'), 'utf8'));
    const expected = await lib.occlusionSensitivity(loaded.model, inputs[1]!, { layer: 'conv_2_1', size: 16, stride: 8 });
    expect([json.rows, json.cols, json.size, json.stride, json.layer]).toEqual([expected.rows, expected.cols, 16, 8, 'conv_2_1']);
    expect([json.strongestChannel, json.classIndex]).toEqual([expected.strongestChannel, expected.classIndex]);
    expect(json.topLabel).toEqual(Array.from(expected.topLabel));
    const close = (a: number[], b: Float32Array) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 4));
    close(json.featureActivation, expected.featureActivation);
    close(json.classProbability, expected.classProbability);
    close(json.topProbability, expected.topProbability);
    const factor = Math.round(64 / expected.rows);
    expectSamePicture(await decodePng(join(out, 'probability.png')), enlarge(lib.heatMapToImage(expected.classProbability, expected.cols, expected.rows, { min: 0 }), factor), 'probability.png');
    expectSamePicture(await decodePng(join(out, 'label.png')), enlarge(lib.labelMapToImage(expected.topLabel, expected.cols, expected.rows), factor), 'label.png');
  });

  it('refuses a missing model and a folder without images, naming them, with status 1', async () => {
    const failed = (args: string[]) => run('npx', ['tsx', ...args], { timeout: 60_000 }).then(() => null, (e: { code: number; stderr: string }) => e);
    const noModel = await failed(['scripts/topk.ts', '--model', join(dir, 'nope.json'), '--images', dir, '--host', 'dawn']);
    expect(noModel?.code).toBe(1);
    expect(noModel?.stderr).toContain('nope.json');
    const empty = mkdtempSync(join(tmpdir(), 'deconvnet-cli-empty-'));
    const noImages = await failed(['scripts/topk.ts', '--model', MODEL, '--images', empty, '--host', 'dawn']);
    expect(noImages?.code).toBe(1);
    expect(noImages?.stderr).toContain('no PNG/JPEG');
  });
});
