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

test('without WebGPU the page says so and how to enable it', async ({ page }) => {
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
  await page.goto('/');
  await expect(page.getByRole('status')).toContainText('WebGPU is not available');
  await expect(page.getByRole('status')).toContainText('enable-unsafe-webgpu');
  await expect(page.locator('#app')).toBeHidden();
});
