// The Explore tab and the sidebar, used as a person would: pick a sample,
// read the top-5, click feature maps, project, save pictures, load models.
import { test, expect, type Page } from '@playwright/test';

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
  const before = Number(await page.locator('body').getAttribute('data-predictions'));
  await page.locator(`[data-testid=sample][data-name="${name}"]`).click();
  await expect(page.locator('body')).not.toHaveAttribute('data-predictions', String(before), { timeout: 60_000 });
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
  test.setTimeout(300_000);
  const errors = collectErrors(page);
  await openPage(page);
  await page.getByTestId('tune-button').click();
  await expect(page.locator('body[data-tuned="1"]')).toBeAttached({ timeout: 240_000 });
  const note = await page.getByTestId('tune-note').textContent();
  expect(note).toMatch(/^Tuned \d+ kernel shapes in [\d.]+ s \(\d+ measured now\): /);
  expect(note).toContain('conv2d ');
  // The choices persist for this adapter.
  const stored = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('deconvnet-webgpu/kernels@')));
  expect(stored.length).toBe(1);
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
