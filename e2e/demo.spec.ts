import { test, expect, type Page } from '@playwright/test';

/** Console errors and uncaught page errors: a shader error may only show there. */
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  page.on('pageerror', (err) => errors.push(err.message));
  return errors;
}

/** Counts distinct grey levels of a canvas: a blank (single-colour) canvas has 1. */
async function canvasStats(page: Page, testId: string) {
  return page.getByTestId(testId).evaluate((el) => {
    const canvas = el as HTMLCanvasElement;
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    const levels = new Set<number>();
    for (let i = 0; i < data.length; i += 4) levels.add(data[i]! * 65536 + data[i + 1]! * 256 + data[i + 2]!);
    return { width: canvas.width, height: canvas.height, levels: levels.size };
  });
}

test('pick a channel and see its projection', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/');
  await expect(page.locator('body[data-ready=true]')).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId('prediction')).toContainText('Prediction:');

  const grid = page.getByTestId('feature-grid');
  const box = (await grid.boundingBox())!;
  // conv2 has 16 maps in a 4x4 grid of 14x14 tiles, scaled x4: click inside the second tile.
  await grid.click({ position: { x: (1 + 15 + 7) * 4, y: (1 + 7) * 4 } });
  expect(box.width).toBeGreaterThan(0);
  await expect(page.getByTestId('projection-label')).toContainText('channel 1', { timeout: 60_000 });

  const stats = await canvasStats(page, 'projection-canvas');
  expect(stats.width).toBe(28 * 8);
  expect(stats.height).toBe(28 * 8);
  expect(stats.levels, 'projection is not blank').toBeGreaterThan(10);

  // Switching the mode re-projects.
  await page.getByLabel('guided').check();
  await expect(page.getByTestId('projection-label')).toContainText('guided', { timeout: 60_000 });
  expect((await canvasStats(page, 'projection-canvas')).levels).toBeGreaterThan(10);

  const gpuErrors = await page.evaluate(() => (window as unknown as { __gpuErrors: string[] }).__gpuErrors);
  expect(gpuErrors).toEqual([]);
  expect(errors).toEqual([]);
});

test('tune the kernels for this GPU, then project on the tuned kernels', async ({ page }) => {
  test.setTimeout(300_000);
  const errors = collectErrors(page);
  await page.goto('/');
  await expect(page.locator('body[data-ready=true]')).toBeVisible({ timeout: 120_000 });
  await page.getByTestId('tune-button').click();
  await expect(page.locator('body[data-tuned="1"]')).toBeAttached({ timeout: 240_000 });
  const note = await page.getByTestId('tune-note').textContent();
  expect(note).toMatch(/^Tuned \d+ kernel shapes in [\d.]+ s \(\d+ measured now\): /);
  expect(note).toContain('conv2d ');
  // The choices persist for this adapter.
  const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('deconvnet-webgpu/kernels@')));
  expect(stored.length).toBe(1);

  const grid = page.getByTestId('feature-grid');
  await grid.click({ position: { x: (1 + 15 + 7) * 4, y: (1 + 7) * 4 } });
  await expect(page.getByTestId('projection-label')).toContainText('channel 1', { timeout: 60_000 });
  expect((await canvasStats(page, 'projection-canvas')).levels, 'projection is not blank').toBeGreaterThan(10);
  const gpuErrors = await page.evaluate(() => (window as unknown as { __gpuErrors: string[] }).__gpuErrors);
  expect(gpuErrors).toEqual([]);
  expect(errors).toEqual([]);
});

test('without WebGPU the page says so and how to enable it', async ({ page }) => {
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
  await page.goto('/');
  await expect(page.getByRole('status')).toContainText('WebGPU is not available');
  await expect(page.getByRole('status')).toContainText('enable-unsafe-webgpu');
  await expect(page.locator('#app')).toBeHidden();
});

/** A small ONNX graph (conv, relu, max pool, a residual Add, global pooling, Gemm) on a 1x32x32 input. */
async function smallOnnx(): Promise<Buffer> {
  // onnx-proto is CommonJS: under Node's ESM loader its exports sit on `default`.
  const mod = (await import('onnx-proto')) as typeof import('onnx-proto') & { default?: typeof import('onnx-proto') };
  const onnx = mod.onnx ?? mod.default!.onnx;
  let seed = 1;
  const random = (n: number) => Float32Array.from({ length: n }, () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647 - 0.5; });
  const f32 = (name: string, dims: number[]) => ({ name, dims, dataType: 1, rawData: new Uint8Array(random(dims.reduce((a, b) => a * b, 1)).buffer) });
  const ints = (name: string, v: number[]) => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
  const info = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  const bytes = onnx.ModelProto.encode({
    irVersion: 7, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'small',
      node: [
        { opType: 'Conv', name: 'conv1', input: ['x', 'w1', 'b1'], output: ['c1'], attribute: [ints('pads', [1, 1, 1, 1])] },
        { opType: 'Relu', name: 'relu1', input: ['c1'], output: ['r1'] },
        { opType: 'MaxPool', name: 'pool1', input: ['r1'], output: ['p1'], attribute: [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])] },
        { opType: 'Conv', name: 'conv2', input: ['p1', 'w2'], output: ['c2'], attribute: [ints('pads', [1, 1, 1, 1])] },
        { opType: 'Relu', name: 'relu2', input: ['c2'], output: ['r2'] },
        { opType: 'Add', name: 'residual', input: ['r2', 'p1'], output: ['s'] },
        { opType: 'GlobalAveragePool', name: 'gap', input: ['s'], output: ['g'] },
        { opType: 'Flatten', name: 'flat', input: ['g'], output: ['f'] },
        { opType: 'Gemm', name: 'fc', input: ['f', 'wf', 'bf'], output: ['y'], attribute: [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] },
      ],
      initializer: [f32('w1', [4, 1, 3, 3]), f32('b1', [4]), f32('w2', [4, 4, 3, 3]), f32('wf', [3, 4]), f32('bf', [3])],
      input: [info('x', [1, 1, 32, 32])],
      output: [info('y', [1, 3])],
    },
  }).finish();
  return Buffer.from(bytes);
}

test('load your own ONNX model and project one of its feature maps', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/');
  await expect(page.locator('body[data-ready=true]')).toBeVisible({ timeout: 120_000 });
  await page.getByTestId('model-file').setInputFiles({ name: 'small.onnx', mimeType: 'application/octet-stream', buffer: await smallOnnx() });
  await expect(page.locator('body[data-model-loads="1"]')).toBeAttached({ timeout: 60_000 });
  await expect(page.getByTestId('model-error')).toHaveText('');
  await expect(page.locator('#model-note')).toContainText('small.onnx (onnx, input 1x32x32, 9 nodes)');
  await expect(page.getByTestId('prediction')).toContainText('Prediction: output');
  await page.getByTestId('layer-select').selectOption('residual');
  await expect(page.locator('#layer-shape')).toContainText('residual: 4 x 16 x 16');
  // 4 maps of 16x16 in a 2x2 grid, drawn at x4 (14 * 4 / 16 rounded): click inside the first tile.
  await page.getByTestId('feature-grid').click({ position: { x: 8 * 4, y: 8 * 4 } });
  await expect(page.getByTestId('projection-label')).toContainText('residual, channel 0', { timeout: 60_000 });
  const stats = await canvasStats(page, 'projection-canvas');
  expect(stats.width).toBe(32 * 7);
  expect(stats.levels, 'projection is not blank').toBeGreaterThan(10);

  // A broken file is reported on the page, and the loaded model stays usable.
  await page.getByTestId('model-file').setInputFiles({ name: 'broken.onnx', mimeType: 'application/octet-stream', buffer: (await smallOnnx()).subarray(0, 200) });
  await expect(page.locator('body[data-model-loads="2"]')).toBeAttached({ timeout: 60_000 });
  await expect(page.getByTestId('model-error')).toContainText('broken.onnx');
  const gpuErrors = await page.evaluate(() => (window as unknown as { __gpuErrors: string[] }).__gpuErrors);
  expect(gpuErrors).toEqual([]);
  expect(errors).toEqual([]);
});
