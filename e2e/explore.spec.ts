// The Explore tab and the sidebar, used as a person would: pick a sample,
// read the top-5, click feature maps, project, save pictures, load models.
import { readFileSync } from 'node:fs';
import { test, expect as baseExpect, type Page } from '@playwright/test';

/** SwiftShader on a shared 2-core machine: give the page time to draw. */
const expect = baseExpect.configure({ timeout: 30_000 });

/** Console errors and uncaught page errors: a shader error may only show there. */
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  page.on('pageerror', (err) => errors.push(err.message));
  return errors;
}

async function expectNoErrors(page: Page, errors: string[]) {
  const gpuErrors = await page.evaluate(() => (window as unknown as { __gpuErrors: string[] }).__gpuErrors);
  expect(gpuErrors).toEqual([]);
  expect(errors).toEqual([]);
}

async function openPage(page: Page) {
  await page.goto('/');
  await expect(page.locator('body[data-ready=true]')).toBeVisible({ timeout: 120_000 });
}

/** Size and number of distinct colours of a canvas: a blank (single-colour) canvas has 1. */
async function canvasStats(page: Page, selector: string) {
  return page.locator(selector).first().evaluate((el) => {
    const canvas = el as HTMLCanvasElement;
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    const levels = new Set<number>();
    for (let i = 0; i < data.length; i += 4) levels.add(data[i]! * 65536 + data[i + 1]! * 256 + data[i + 2]!);
    return { width: canvas.width, height: canvas.height, levels: levels.size };
  });
}

/** Picks a sample of the strip and waits for its prediction. */
async function pickSample(page: Page, name: string) {
  await page.locator(`[data-testid=sample][data-name="${name}"]`).click();
  await expect(page.locator(`[data-testid=top5][data-image="${name}"]`)).toBeAttached({ timeout: 60_000 });
  await expect(page.getByTestId('image-name')).toContainText(name);
}

test('Tiny VGG opens by default and predicts koala_1.jpeg as koala', async ({ page }) => {
  const errors = collectErrors(page);
  await openPage(page);
  await expect(page.getByTestId('model-select')).toHaveValue('tiny-vgg');
  await expect(page.getByTestId('model-credit')).toContainText('CNN Explainer');
  await expect(page.getByTestId('sample')).toHaveCount(20);
  await pickSample(page, 'koala_1.jpeg');
  const top5 = page.getByTestId('top5').locator('li');
  await expect(top5).toHaveCount(5);
  await expect(top5.first().locator('.name')).toHaveText('koala');
  const input = await canvasStats(page, '[data-testid=input-image]');
  expect(input.width).toBe(64 * 2);
  expect(input.levels).toBeGreaterThan(100);

  // The Explore panels draw only while their tab shows: an image picked on another tab is drawn on return.
  await expect(page.getByTestId('network-layer').first()).toBeVisible();
  const drawn = await page.locator('body').getAttribute('data-network');
  await page.getByTestId('tab-button-top9').click();
  await pickSample(page, 'koala_2.jpeg');
  await expect(page.locator('body')).toHaveAttribute('data-network', drawn!);
  await page.getByTestId('tab-button-explore').click();
  await expect(page.locator('body')).toHaveAttribute('data-network', String(Number(drawn) + 1));
  await expectNoErrors(page, errors);
});

/** Tiny VGG's receptive fields by hand: 3x3 valid convs (size +2 * jump) and 2x2 stride-2 pools (size + jump, jump x2). */
function tinyVggBox(layer: string, y: number, x: number) {
  const chain = ['conv_1_1', 'conv_1_2', 'max_pool_1', 'conv_2_1', 'conv_2_2', 'max_pool_2'];
  let size = 1, jump = 1;
  for (const name of chain.slice(0, chain.indexOf(layer) + 1)) {
    if (name.startsWith('conv')) size += 2 * jump;
    else { size += jump; jump *= 2; }
  }
  return { top: y * jump, left: x * jump, height: size, width: size };
}

test('click a unit of a feature map: projection beside the input, its receptive field box, all three modes, PNG export', async ({ page }) => {
  const errors = collectErrors(page);
  await openPage(page);
  await pickSample(page, 'koala_1.jpeg');
  await page.getByTestId('layer-select').selectOption('conv_2_2');
  await expect(page.getByTestId('layer-shape')).toContainText('conv_2_2: 10 x 26 x 26');
  await expect(page.getByTestId('feature-map')).toHaveCount(10);
  expect((await canvasStats(page, '[data-testid=feature-map][data-channel="3"]')).levels).toBeGreaterThan(10);

  // The unit (y 5, x 9) of channel 3: click the centre of that cell of the 26x26 map.
  await page.getByTestId('click-unit').check();
  const map = page.locator('[data-testid=feature-map][data-channel="3"]');
  const shown = (await map.boundingBox())!;
  await map.click({ position: { x: ((9 + 0.5) * shown.width) / 26, y: ((5 + 0.5) * shown.height) / 26 } });
  await expect(page.getByTestId('projection-label')).toContainText('conv_2_2, channel 3, unit (5, 9); deconvnet', { timeout: 60_000 });
  const input = page.getByTestId('projection-input');
  const expected = tinyVggBox('conv_2_2', 5, 9);
  expect(expected).toEqual({ top: 10, left: 18, height: 14, width: 14 });
  const box = await input.evaluate((el) => ({ top: Number(el.dataset.boxTop), left: Number(el.dataset.boxLeft), height: Number(el.dataset.boxHeight), width: Number(el.dataset.boxWidth), scale: Number(el.dataset.scale) }));
  expect({ ...box, scale: undefined }).toEqual({ ...expected, scale: undefined });
  // The box is drawn where it says: the box colour on its left and right edges (canvas pixels = input pixels x scale), not just outside.
  const edges = await input.evaluate((el, b) => {
    const ctx = (el as HTMLCanvasElement).getContext('2d')!;
    const at = (x: number, y: number) => Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3));
    const midY = Math.round((b.top + b.height / 2) * b.scale);
    return { left: at(b.left * b.scale, midY), right: at((b.left + b.width) * b.scale - 1, midY), outside: at(b.left * b.scale - 2, midY) };
  }, box);
  expect(edges.left).toEqual([255, 59, 48]);
  expect(edges.right).toEqual([255, 59, 48]);
  expect(edges.outside).not.toEqual([255, 59, 48]);
  const projection = await canvasStats(page, '[data-testid=projection-canvas]');
  expect([projection.width, projection.height]).toEqual([64 * 3, 64 * 3]);
  expect(projection.levels, 'projection is not blank').toBeGreaterThan(10);
  const crop = await canvasStats(page, '[data-testid=crop-input]');
  expect([crop.width, crop.height]).toEqual([14 * 7, 14 * 7]);

  // All three modes side by side.
  await page.getByTestId('mode-all').check();
  await expect(page.getByTestId('projection-label')).toContainText('deconvnet, guided, gradient', { timeout: 60_000 });
  await expect(page.getByTestId('projection-canvas')).toHaveCount(3);
  for (const mode of ['deconvnet', 'guided', 'gradient']) {
    const stats = await canvasStats(page, `[data-testid=projection-canvas][data-mode=${mode}]`);
    expect(stats.width).toBe(192);
    expect(stats.levels, `${mode} is not blank`).toBeGreaterThan(10);
  }

  // Save PNG: a real PNG of the canvas's size.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('save-projection-canvas-guided').click()]);
  expect(download.suggestedFilename()).toBe('projection-guided.png');
  const png = readFileSync(await download.path());
  expect(Array.from(png.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
  expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([192, 192]);

  // Overlay: the projection blended over the photo has the photo's colours.
  const plain = (await canvasStats(page, '[data-testid=projection-canvas][data-mode=deconvnet]')).levels;
  await page.getByTestId('overlay').check();
  await expect.poll(async () => (await canvasStats(page, '[data-testid=projection-canvas][data-mode=deconvnet]')).levels, { timeout: 60_000 })
    .toBeGreaterThan(Math.max(1000, 3 * plain));
  await page.getByTestId('overlay').uncheck();

  // A click on a channel with "strongest activation" projects its maximum, at the position the caption names.
  await page.getByTestId('click-max').check();
  await page.locator('[data-testid=feature-map][data-channel="7"]').click();
  await expect(page.getByTestId('projection-label')).toContainText('conv_2_2, channel 7, unit', { timeout: 60_000 });
  const peakTitle = await page.locator('figure.map[data-channel="7"] .peak').getAttribute('title');
  const [, y, x] = /\((\d+), (\d+)\)/.exec(peakTitle!)!;
  await expect(page.getByTestId('projection-label')).toContainText(`unit (${y}, ${x}), its strongest activation`);
  await expectNoErrors(page, errors);
});

test('Network: every layer with its shape, parameter count and activation thumbnails; a click opens it in Feature maps', async ({ page }) => {
  const errors = collectErrors(page);
  await openPage(page);
  await pickSample(page, 'koala_1.jpeg');
  const columns = page.getByTestId('network-layer');
  await expect(columns.first()).toBeVisible({ timeout: 60_000 });
  const names = await columns.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.layer));
  expect(names.slice(0, 10)).toEqual(['conv_1_1', 'relu_1_1', 'conv_1_2', 'relu_1_2', 'max_pool_1', 'conv_2_1', 'relu_2_1', 'conv_2_2', 'relu_2_2', 'max_pool_2']);
  // Parameters by hand: 3x3 convs of 10 filters (3 or 10 input channels) + bias; Dense 13*13*10 -> 10 + bias.
  const params = async (layer: string) => page.locator(`[data-testid=network-layer][data-layer="${layer}"] [data-testid=layer-params]`).textContent();
  expect(await params('conv_1_1')).toBe(`${10 * 3 * 9 + 10} params`);
  expect(await params('conv_2_2')).toBe(`${10 * 10 * 9 + 10} params`);
  expect(await params('max_pool_1')).toBe('0 params');
  await expect(page.getByTestId('network-note')).toContainText(`${(10 * 3 * 9 + 10 + 3 * (10 * 10 * 9 + 10) + 1690 * 10 + 10).toLocaleString('en')} parameters`);
  const conv11 = page.locator('[data-testid=network-layer][data-layer="conv_1_1"]');
  await expect(conv11.getByTestId('layer-shape-small')).toHaveText('10x62x62');
  await expect(conv11.getByTestId('network-thumb')).toHaveCount(10);
  const thumb = await canvasStats(page, '[data-testid=network-layer][data-layer="conv_1_1"] [data-testid=network-thumb]');
  expect([thumb.width, thumb.height]).toEqual([62, 62]);
  expect(thumb.levels).toBeGreaterThan(10);
  // The flat output: one 16-pixel bar per class; a click on koala's bar projects that unit.
  const output = columns.last();
  const outputName = await output.getAttribute('data-layer');
  expect((await canvasStats(page, `[data-testid=network-layer][data-layer="${outputName}"] [data-testid=network-bars]`)).height).toBe(160);
  await output.getByTestId('network-bars').click({ position: { x: 40, y: 5 * 16 + 8 } });
  await expect(page.getByTestId('projection-label')).toContainText(`${outputName}, channel 5`, { timeout: 60_000 });
  expect((await canvasStats(page, '[data-testid=projection-canvas]')).levels, 'projection of the koala unit is not blank').toBeGreaterThan(10);

  await page.locator('[data-testid=network-layer][data-layer="max_pool_1"]').click();
  await expect(page.getByTestId('layer-select')).toHaveValue('max_pool_1');
  await expect(page.getByTestId('layer-shape')).toContainText('max_pool_1: 10 x 30 x 30');
  await expect(page.locator('[data-testid=network-layer][data-layer="max_pool_1"]')).toHaveClass(/current/);
  await expectNoErrors(page, errors);
});

test('sidebar: preprocessing reruns the model, class names from a file or a preset, your own image, a model by URL', async ({ page }) => {
  const errors = collectErrors(page);
  await openPage(page);
  await pickSample(page, 'koala_1.jpeg');
  const first = page.getByTestId('top5').locator('li').first();
  const unitRange = await first.locator('.value').textContent();
  // ImageNet normalisation is not what Tiny VGG was trained with: the numbers change; back to none, they come back.
  await page.getByTestId('pre-preset').selectOption('imagenet');
  await expect(page.getByTestId('pre-mean')).toHaveValue('0.485, 0.456, 0.406');
  await expect(first.locator('.value')).not.toHaveText(unitRange!);
  await page.getByTestId('pre-preset').selectOption('none');
  await expect(first.locator('.value')).toHaveText(unitRange!);
  await page.getByTestId('pre-std').fill('1, 0, 1');
  await page.getByTestId('pre-std').dispatchEvent('change');
  await expect(page.getByTestId('pre-error')).toContainText('std[1] is 0');

  // 1000 ImageNet names do not fit 10 outputs; a file of 10 names does.
  await page.getByTestId('class-preset').selectOption('imagenet');
  await expect(page.getByTestId('class-note')).toContainText('1000 names, but the model has 10 outputs');
  const names = ['boat', 'bug', 'pie', 'pepper', 'bus', 'KOALA BEAR', 'coffee', 'panda', 'fruit', 'car'];
  await page.getByTestId('class-file').setInputFiles({ name: 'names.txt', mimeType: 'text/plain', buffer: Buffer.from(names.join('\n')) });
  await expect(first.locator('.name')).toHaveText('KOALA BEAR');
  await page.getByTestId('class-preset').selectOption('none');
  await expect(first.locator('.name')).toHaveText('class 5');
  await page.getByTestId('class-preset').selectOption('own');
  await expect(first.locator('.name')).toHaveText('koala');

  // Your own image (a file picked), then the same model given by URL.
  await page.getByTestId('image-file').setInputFiles('demo/public/models/tiny-vgg/samples/panda_1.jpeg');
  await expect(page.getByTestId('image-name')).toContainText('panda_1.jpeg');
  await page.getByTestId('model-url').fill('/models/tiny-vgg/model.json');
  await page.getByTestId('model-url-load').click();
  await expect(page.locator('body[data-model-loads="1"]')).toBeAttached({ timeout: 60_000 });
  await expect(page.getByTestId('model-error')).toHaveText('');
  await expect(page.getByTestId('model-select')).toHaveValue('user:1');
  await expect(page.getByTestId('model-note')).toContainText('model.json (tfjs-layers): input 3x64x64, 13 nodes, no class names');
  await pickSample(page, 'koala_1.jpeg');
  await expect(first.locator('.name')).toHaveText('class 5');
  await expectNoErrors(page, errors);
});

test('a corrupt model file shows the error and the previous model still predicts; the Fashion-MNIST model works', async ({ page }) => {
  const errors = collectErrors(page);
  await openPage(page);
  await page.getByTestId('model-file').setInputFiles({ name: 'broken.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from([8, 7, 18, 200, 1, 3, 4]) });
  await expect(page.locator('body[data-model-loads="1"]')).toBeAttached({ timeout: 60_000 });
  await expect(page.getByTestId('model-error')).toContainText('broken.onnx');
  await expect(page.getByTestId('model-select')).toHaveValue('tiny-vgg');
  await pickSample(page, 'koala_1.jpeg');
  await expect(page.getByTestId('top5').locator('li').first().locator('.name')).toHaveText('koala');

  // A corrupt model.json dropped on the page: same.
  await dropFiles(page, [{ name: 'model.json', text: '{"format": "layers-model", "modelTopology": ' }]);
  await expect(page.locator('body[data-model-loads="2"]')).toBeAttached({ timeout: 60_000 });
  await expect(page.getByTestId('model-error')).toContainText('model.json');
  await pickSample(page, 'koala_2.jpeg');
  await expect(page.getByTestId('model-select')).toHaveValue('tiny-vgg');

  await page.getByTestId('model-select').selectOption('fashion');
  await expect(page.getByTestId('sample')).toHaveCount(20);
  await expect(page.getByTestId('top5').locator('li')).toHaveCount(5, { timeout: 60_000 });
  const input = await canvasStats(page, '[data-testid=input-image]');
  expect(input.width).toBe(28 * 5);
  await expect(page.getByTestId('feature-map').first()).toBeVisible();
  await page.getByTestId('feature-map').first().click();
  await expect(page.getByTestId('projection-label')).toContainText('channel 0', { timeout: 60_000 });
  const projection = await canvasStats(page, '[data-testid=projection-canvas]');
  expect([projection.width, projection.levels > 10]).toEqual([28 * 7, true]);
  await expectNoErrors(page, errors);
});

/** Drops files on the page as a drag from the desktop would. */
async function dropFiles(page: Page, files: Array<{ name: string; text: string }>) {
  const transfer = await page.evaluateHandle((list) => {
    const dt = new DataTransfer();
    for (const f of list) dt.items.add(new File([f.text], f.name));
    return dt;
  }, files);
  await page.dispatchEvent('body', 'drop', { dataTransfer: transfer });
}

test('tune the kernels for this GPU, then predict on the tuned kernels', async ({ page }) => {
  // About a minute on an idle 2-core SwiftShader machine; several times that when it is shared.
  test.setTimeout(600_000);
  const errors = collectErrors(page);
  await openPage(page);
  // The Fashion-MNIST net: fewer kernel shapes to time than Tiny VGG's 62x62 maps (SwiftShader is slow).
  await page.getByTestId('model-select').selectOption('fashion');
  await expect(page.getByTestId('top5').locator('li')).toHaveCount(5, { timeout: 60_000 });
  await page.getByTestId('tune-button').click();
  await expect(page.locator('body[data-tuned="1"]')).toBeAttached({ timeout: 540_000 });
  const note = await page.getByTestId('tune-note').textContent();
  expect(note).toMatch(/^Tuned \d+ kernel shapes in [\d.]+ s \(\d+ measured now\): /);
  expect(note).toContain('conv2d ');
  // The choices persist for this adapter.
  const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('deconvnet-webgpu/kernels@')));
  expect(stored.length).toBe(1);
  // Back on Tiny VGG, on kernels chosen for these shapes or the defaults.
  await page.getByTestId('model-select').selectOption('tiny-vgg');
  await pickSample(page, 'koala_1.jpeg');
  await expect(page.getByTestId('top5').locator('li').first().locator('.name')).toHaveText('koala');
  await expectNoErrors(page, errors);
});

test('without WebGPU the page says so and how to enable it', async ({ page }) => {
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
  await page.goto('/');
  await expect(page.getByRole('status')).toContainText('WebGPU is not available');
  await expect(page.getByRole('status')).toContainText('enable-unsafe-webgpu');
  await expect(page.locator('#app')).toBeHidden();
});

test('screenshots of the Explore tab and the sidebar (docs/screenshots)', async ({ page }) => {
  await page.setViewportSize({ width: 1600, height: 1000 });
  await openPage(page);
  await page.addStyleTag({ content: '#side { position: static; }' }); // a full-page capture scrolls: keep the sidebar at the top
  await pickSample(page, 'koala_1.jpeg');
  await page.getByTestId('layer-select').selectOption('conv_2_2');
  await expect(page.getByTestId('feature-map')).toHaveCount(10);
  await page.locator('[data-testid=feature-map][data-channel="3"]').click();
  await expect(page.getByTestId('projection-canvas')).toHaveCount(1, { timeout: 60_000 });
  await page.getByTestId('mode-all').check();
  await expect(page.getByTestId('projection-canvas')).toHaveCount(3, { timeout: 60_000 });
  await page.screenshot({ path: 'docs/screenshots/explore.png', fullPage: true });
  await page.locator('#side').screenshot({ path: 'docs/screenshots/sidebar.png' });
});
