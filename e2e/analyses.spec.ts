// The analysis tabs (Top 9, Occlusion, Invariance) used as a person would:
// open the tab, set small settings, run, cancel, and check what is drawn.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test, expect, type Page, type Locator } from '@playwright/test';

/** Console errors and uncaught page errors: a shader error may only show there. */
function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  page.on('pageerror', (err) => errors.push(err.message));
  return errors;
}

async function openTab(page: Page, id: string) {
  await page.goto('/');
  await expect(page.locator('body[data-ready=true]')).toBeVisible({ timeout: 120_000 });
  // The sidebar's forward pass of the first sample has run: the model and image are set.
  await expect(page.getByTestId('prediction')).toContainText(/\d/, { timeout: 60_000 });
  await page.getByTestId(`tab-button-${id}`).click();
}

/** Size and number of distinct colours of a canvas (1 = blank). */
async function canvasStats(canvas: Locator) {
  return canvas.evaluate((node) => {
    const c = node as HTMLCanvasElement;
    const { data } = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
    const colours = new Set<number>();
    for (let i = 0; i < data.length; i += 4) colours.add(data[i]! * 65536 + data[i + 1]! * 256 + data[i + 2]!);
    return { width: c.width, height: c.height, colours: colours.size };
  });
}

/** Distinct colours inside each of the 9 cells of a 3x3 top-9 grid (white gaps of one scaled pixel between). */
async function cellColours(canvas: Locator) {
  return canvas.evaluate((node) => {
    const c = node as HTMLCanvasElement;
    const ctx = c.getContext('2d')!;
    const out: number[] = [];
    const cw = c.width / 3, ch = c.height / 3;
    for (let i = 0; i < 9; i++) {
      const x0 = Math.floor((i % 3) * cw + cw * 0.2), y0 = Math.floor(Math.floor(i / 3) * ch + ch * 0.2);
      const { data } = ctx.getImageData(x0, y0, Math.floor(cw * 0.6), Math.floor(ch * 0.6));
      const colours = new Set<number>();
      for (let j = 0; j < data.length; j += 4) colours.add(data[j]! * 65536 + data[j + 1]! * 256 + data[j + 2]!);
      out.push(colours.size);
    }
    return out;
  });
}

/** Starts a run, cancels it once its progress bar has moved, and checks that it stopped there. */
async function runAndCancel(panel: Locator, prefix: string) {
  const bar = panel.getByTestId(`${prefix}-progress`);
  const value = () => bar.evaluate((p) => (p as HTMLProgressElement).value);
  await panel.getByTestId(`${prefix}-run`).click();
  await expect.poll(value, { timeout: 60_000 }).toBeGreaterThan(0);
  await panel.getByTestId(`${prefix}-cancel`).click();
  await expect(panel.getByTestId(`${prefix}-status`)).toContainText('Cancelled', { timeout: 30_000 });
  const stoppedAt = await value();
  expect(stoppedAt).toBeLessThan(1);
  await panel.page().waitForTimeout(1000);
  expect(await value(), 'no progress after cancelling').toBe(stoppedAt);
  await expect(panel.getByTestId(`${prefix}-cancel`)).toBeDisabled();
}

async function noGpuErrors(page: Page, errors: string[]) {
  const gpuErrors = await page.evaluate(() => (window as unknown as { __gpuErrors: string[] }).__gpuErrors);
  expect(gpuErrors).toEqual([]);
  expect(errors).toEqual([]);
}

test('Top 9 over the Tiny VGG samples: 9 patches and 9 projections per channel, cancel and rerun', async ({ page }) => {
  const errors = collectErrors(page);
  await openTab(page, 'top9');
  const panel = page.getByTestId('panel-top9');
  await panel.getByTestId('top9-layer').selectOption('conv_2_2');
  await expect(panel.getByTestId('top9-dataset')).toHaveValue('samples');
  await panel.getByTestId('top9-run').click();
  await expect(panel.getByTestId('top9-status')).toContainText('Done in', { timeout: 90_000 });
  expect(await panel.getByTestId('top9-progress').evaluate((p) => (p as HTMLProgressElement).value)).toBe(1);
  await expect(panel.getByTestId('top9-status')).toContainText('20 images');

  // Tiny VGG's conv_2_2 has 10 channels; each shows 9 patches (14x14 receptive fields) and 9 projections.
  const channels = panel.getByTestId('top9-channel');
  await expect(channels).toHaveCount(10);
  for (const figure of await channels.all()) {
    await expect(figure).toHaveAttribute('data-patches', '9');
    const channel = await figure.getAttribute('data-channel');
    for (const kind of ['patches', 'projections']) {
      const canvas = figure.getByTestId(`top9-${kind}-${channel}`);
      await expect(canvas).toHaveAttribute('data-cells', '9');
      const perCell = await cellColours(canvas);
      // Every cell holds a picture: a 14x14 patch or projection has several distinct colours.
      expect(perCell.every((n) => n >= 2), `${kind} of channel ${channel}: ${perCell}`).toBe(true);
    }
  }
  await page.screenshot({ path: 'docs/screenshots/top9.png', fullPage: true });

  // Save PNG downloads the whole figure as a valid PNG.
  const [download] = await Promise.all([page.waitForEvent('download'), panel.getByTestId('top9-save').click()]);
  expect(download.suggestedFilename()).toBe('top9.png');
  const png = readFileSync((await download.path())!);
  expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(png.readUInt32BE(16), 'PNG width').toBeGreaterThan(300);

  // Images the user picks become the dataset.
  const samples = join('demo', 'public', 'models', 'tiny-vgg', 'samples');
  const picked = readdirSync(samples).filter((f) => f.endsWith('.jpeg')).slice(0, 6)
    .map((name) => ({ name, mimeType: 'image/jpeg', buffer: readFileSync(join(samples, name)) }));
  // A file that only claims to be an image is skipped, and the page says so.
  const broken = { name: 'broken.jpeg', mimeType: 'image/jpeg', buffer: Buffer.from('not a JPEG at all') };
  await panel.getByTestId('top9-files').setInputFiles([...picked, broken]);
  await expect(panel.getByTestId('top9-dataset')).toHaveValue('picked');
  await panel.getByTestId('top9-count').fill('1');
  await panel.getByTestId('top9-run').click();
  await expect(panel.getByTestId('top9-status')).toContainText('6 images', { timeout: 60_000 });
  await expect(panel.getByTestId('top9-dataset-note')).toContainText('Skipped 1 files that are not readable images: broken.jpeg');
  await expect(panel.getByTestId('top9-channel')).toHaveCount(1);
  // Six images give six activations per channel (one per image).
  await expect(panel.getByTestId('top9-channel')).toHaveAttribute('data-patches', '6');

  // Cancel a run on the Fashion-MNIST model's 500-image test subset, then rerun it to the end.
  await page.getByTestId('model-select').selectOption('fashion');
  await expect(panel.getByTestId('top9-dataset').locator('option[value=fashion-test]')).toBeAttached();
  await panel.getByTestId('top9-dataset').selectOption('fashion-test');
  await panel.getByTestId('top9-count').fill('2');
  await runAndCancel(panel, 'top9');
  await expect(panel.getByTestId('top9-channel')).toHaveCount(0);

  await panel.getByTestId('top9-run').click();
  await expect(panel.getByTestId('top9-status')).toContainText('Done in', { timeout: 120_000 });
  await expect(panel.getByTestId('top9-status')).toContainText('500 images');
  await expect(panel.getByTestId('top9-channel')).toHaveCount(2);
  await expect(panel.getByTestId('top9-channel').first()).toHaveAttribute('data-patches', '9');
  await noGpuErrors(page, errors);
});

test('Occlusion on a Tiny VGG sample: three maps on the expected grid, cancel and rerun', async ({ page }) => {
  const errors = collectErrors(page);
  await openTab(page, 'occlusion');
  const panel = page.getByTestId('panel-occlusion');

  // A fine grid (square 4, stride 1: 61 x 61 positions) takes long enough to cancel.
  await panel.getByTestId('occlusion-size').fill('4');
  await panel.getByTestId('occlusion-stride').fill('1');
  await runAndCancel(panel, 'occlusion');
  await expect(panel.getByTestId('occlusion-map-feature')).toHaveCount(0);

  const [H, W, size, stride] = [64, 64, 16, 8];
  await panel.getByTestId('occlusion-size').fill(String(size));
  await panel.getByTestId('occlusion-stride').fill(String(stride));
  await panel.getByTestId('occlusion-run').click();
  await expect(panel.getByTestId('occlusion-status')).toContainText('Done in', { timeout: 90_000 });
  // The library's documented grid: the square's top-left corner at (r * stride, c * stride) while the square fits.
  const rows = Math.floor((H - size) / stride) + 1, cols = Math.floor((W - size) / stride) + 1;
  await expect(panel.getByTestId('occlusion-status')).toContainText(`${rows}x${cols} positions`);
  // The first sample is boat_1.jpeg, whose true class is lifeboat.
  await expect(panel.getByTestId('occlusion-summary')).toContainText('lifeboat');
  // Beside map (a): the strongest activation of its channel projected to pixels (paper Fig. 7 (c)).
  const projection = await canvasStats(panel.getByTestId('occlusion-projection'));
  expect([projection.width, projection.height]).toEqual([W * 3, H * 3]);
  expect(projection.colours, 'projection is not blank').toBeGreaterThan(10);
  await page.screenshot({ path: 'docs/screenshots/occlusion.png', fullPage: true });

  // Without the image underneath, each map is only its cells: sample every cell's centre.
  await panel.getByTestId('occlusion-overlay').uncheck();
  for (const kind of ['feature', 'probability', 'label']) {
    const canvas = panel.getByTestId(`occlusion-map-${kind}`);
    await expect(canvas).toHaveAttribute('data-rows', String(rows));
    await expect(canvas).toHaveAttribute('data-cols', String(cols));
    const cells = await canvas.evaluate((node, grid) => {
      const c = node as HTMLCanvasElement;
      const scale = c.width / grid.W;
      const ctx = c.getContext('2d')!;
      const inset = (grid.size - grid.stride) / 2;
      const colours: number[] = [];
      for (let r = 0; r < grid.rows; r++) {
        for (let k = 0; k < grid.cols; k++) {
          const x = Math.floor((inset + (k + 0.5) * grid.stride) * scale), y = Math.floor((inset + (r + 0.5) * grid.stride) * scale);
          const [red, green, blue] = ctx.getImageData(x, y, 1, 1).data;
          colours.push(red! * 65536 + green! * 256 + blue!);
        }
      }
      const corner = Array.from(ctx.getImageData(1, 1, 1, 1).data);
      return { width: c.width, height: c.height, distinct: new Set(colours).size, corner };
    }, { W, size, stride, rows, cols });
    // The image's size at an integer scale (64 px at x3).
    expect([cells.width, cells.height]).toEqual([W * 3, H * 3]);
    // Outside the cells (the first (size - stride) / 2 pixels) the canvas stays white.
    expect(cells.corner).toEqual([255, 255, 255, 255]);
    if (kind !== 'label') expect(cells.distinct, `${kind} map varies over the grid`).toBeGreaterThan(5);
    else expect(cells.distinct).toBeGreaterThanOrEqual(1);
  }
  // The label map's legend names Tiny VGG classes with their position counts, summing to the grid.
  const counts = await panel.getByTestId('occlusion-legend').locator('li').allTextContents();
  expect(counts.length).toBeGreaterThan(0);
  expect(counts.reduce((s, t) => s + Number(/\((\d+)\)$/.exec(t)![1]), 0)).toBe(rows * cols);
  await noGpuErrors(page, errors);
});

test('Invariance of a Tiny VGG sample: six charts of the expected length', async ({ page }) => {
  const errors = collectErrors(page);
  await openTab(page, 'invariance');
  const panel = page.getByTestId('panel-invariance');
  const steps = 7;
  await panel.getByTestId('invariance-steps').fill(String(steps));
  await panel.getByTestId('invariance-run').click();
  await expect(panel.getByTestId('invariance-status')).toContainText('Done in', { timeout: 90_000 });
  await expect(panel.getByTestId('invariance-status')).toContainText(`${3 * steps} transformed images`);

  const charts = panel.locator('[data-testid^=invariance-chart-]');
  await expect(charts).toHaveCount(6);
  for (const chart of await charts.all()) {
    await expect(chart).toHaveAttribute('data-points', String(steps));
    const stats = await canvasStats(chart.locator('canvas').first());
    expect(stats.width).toBeGreaterThan(100);
    expect(stats.colours, 'chart is drawn').toBeGreaterThan(3);
  }
  // Two layers ticked by default (the first and the last feature layer): two distance curves per chart.
  await expect(panel.getByTestId('invariance-chart-translation-distance')).toHaveAttribute('data-series', '2');
  await expect(panel.getByTestId('invariance-chart-translation-distance')).toContainText('conv_1_1');
  for (const row of ['translation', 'scale', 'rotation']) {
    await expect(panel.getByTestId(`invariance-${row}`).locator('.invariance-strip canvas')).toHaveCount(steps);
  }
  // The transformed images save as one PNG, side by side: steps x 64 pixels wide.
  const [strip] = await Promise.all([page.waitForEvent('download'), panel.getByTestId('invariance-save-rotation-images').click()]);
  expect(strip.suggestedFilename()).toBe('invariance-rotation-images.png');
  const stripPng = readFileSync((await strip.path())!);
  expect(Array.from(stripPng.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect([stripPng.readUInt32BE(16), stripPng.readUInt32BE(20)], 'PNG width, height').toEqual([steps * 64, 64]);
  await page.screenshot({ path: 'docs/screenshots/invariance.png', fullPage: true });
  await noGpuErrors(page, errors);
});
