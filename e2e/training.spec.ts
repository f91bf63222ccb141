// The Training and Conv2DTranspose tabs used as a person would: set small
// settings, train, pause, resume, stop, use the trained model; set kernels
// and compare pixels. Screenshots go to docs/screenshots/.
import { readFileSync } from 'node:fs';
import { test, expect, type Page, type Locator } from '@playwright/test';

const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

// One page for both tests (loading it takes half a minute on SwiftShader): the playground
// first, on Tiny VGG's first sample, then training, which ends showing the trained model.
test.describe.configure({ mode: 'serial' });
let page: Page;
/** Console errors and uncaught page errors: a shader error may only show there. */
const errors: string[] = [];

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto('/');
  await expect(page.locator('body[data-ready=true]')).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId('prediction')).toContainText(/\d/, { timeout: 60_000 });
});

test.afterAll(async () => { await page.close(); });

async function expectNoErrors() {
  expect(await page.evaluate(() => (window as unknown as { __gpuErrors: string[] }).__gpuErrors)).toEqual([]);
  expect(errors).toEqual([]);
}

/** A body counter set by the page's bump() (0 when absent). */
async function counter(name: string): Promise<number> {
  return page.evaluate((key) => Number(document.body.dataset[key] ?? 0), name);
}

async function counterAbove(name: string, value: number, timeout = 60_000) {
  await expect.poll(() => counter(name), { timeout }).toBeGreaterThan(value);
}

async function pixels(canvas: Locator): Promise<{ width: number; height: number; data: number[] }> {
  return canvas.evaluate((node) => {
    const c = node as HTMLCanvasElement;
    return { width: c.width, height: c.height, data: Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data) };
  });
}

async function distinctColours(canvas: Locator): Promise<number> {
  const { data } = await pixels(canvas);
  const colours = new Set<number>();
  for (let i = 0; i < data.length; i += 4) colours.add(data[i]! * 65536 + data[i + 1]! * 256 + data[i + 2]!);
  return colours.size;
}

interface Series { epoch: number[]; train: Array<number | null>; test: Array<number | null> }
const series = async (chart: Locator): Promise<Series> => JSON.parse((await chart.getAttribute('data-series'))!) as Series;

/** Small settings for SwiftShader: 400 images in batches of 40 (10 steps per epoch), Adam at the default rate 0.002. */
async function smallRun(panel: Locator, epochs: number) {
  await panel.getByTestId('train-images').fill('400');
  await panel.getByTestId('train-batch').fill('40');
  await panel.getByTestId('train-epochs').fill(String(epochs));
  await panel.getByTestId('evolution-channels').fill('0-1');
}

test('Conv2DTranspose playground: identity reproduces the image, stride 2 has the Keras size, editing a weight changes the output', async () => {
  await page.getByTestId('tab-button-playground').click();
  const panel = page.getByTestId('panel-playground');
  const original = panel.getByTestId('playground-original');
  const output = panel.getByTestId('playground-output');
  /** Changes a control and waits for the output it causes. */
  async function change(action: () => Promise<unknown>) {
    const runs = await counter('playgroundRuns');
    await action();
    await counterAbove('playgroundRuns', runs);
  }
  await counterAbove('playgroundRuns', 0);
  await expect(panel.getByTestId('kernel-preset')).toHaveValue('identity');

  // Identity, 3x3, stride 1, 'same': the output is the image, pixel for pixel.
  await expect(panel.getByTestId('kernel-padding')).toHaveValue('same');
  const [h, w] = (await original.getAttribute('data-shape'))!.split('x').map(Number) as [number, number];
  await expect(output).toHaveAttribute('data-shape', `${h}x${w}`);
  const before = await pixels(output);
  expect(before).toEqual(await pixels(original));
  expect(await distinctColours(output)).toBeGreaterThan(100);

  // Stride 2, 'valid': Keras' out = in * stride + max(k - stride, 0).
  await change(() => panel.getByTestId('kernel-stride').fill('2'));
  await change(() => panel.getByTestId('kernel-padding').selectOption('valid'));
  const keras = (n: number) => n * 2 + Math.max(3 - 2, 0);
  await expect(output).toHaveAttribute('data-shape', `${keras(h)}x${keras(w)}`);
  const strided = await pixels(output);
  expect(strided.width / keras(w)).toBe(before.width / w); // the same pixel scale as the original
  expect(strided.height / keras(h)).toBe(before.height / h);
  await expect(panel.getByTestId('playground-size')).toContainText(`= ${keras(h)} x ${keras(w)}`);

  // Editing the centre weight changes the output, and the preset turns 'custom'.
  await change(() => panel.locator('[data-testid=kernel-weight][data-row="1"][data-col="1"]').fill('0.5'));
  await expect(panel.getByTestId('kernel-preset')).toHaveValue('custom');
  const edited = await pixels(output);
  expect(edited.width).toBe(strided.width);
  expect(edited.data).not.toEqual(strided.data);

  // An edge kernel gives signed output, shown with zero as grey.
  await change(() => panel.getByTestId('kernel-stride').fill('1'));
  await change(() => panel.getByTestId('kernel-padding').selectOption('same'));
  await change(() => panel.getByTestId('kernel-preset').selectOption('sobel-x'));
  await expect(panel.getByTestId('playground-output-caption')).toContainText('signed');
  // For the screenshot: emboss, clamped.
  await change(() => panel.getByTestId('kernel-preset').selectOption('emboss'));
  await change(() => panel.getByTestId('kernel-display').selectOption('clamp'));
  await expect(panel.getByTestId('playground-output-caption')).toContainText('clamped');
  await panel.screenshot({ path: 'docs/screenshots/playground.png' });
  await expectNoErrors();
});

test('training lowers the loss; pause, resume, evolution strip, test scores, save, use; stop ends a run cleanly', async () => {
  await page.getByTestId('tab-button-training').click();
  const panel = page.getByTestId('panel-training');
  await smallRun(panel, 2);
  await panel.getByTestId('train-start-button').click();

  // Pause once a few steps are logged: no step is taken while paused.
  await counterAbove('trainLogs', 1, 90_000);
  await panel.getByTestId('train-pause').click();
  await expect(panel).toHaveAttribute('data-state', 'paused');
  await expect(panel.getByTestId('train-pause')).toHaveText('Resume');
  await page.waitForTimeout(1500); // the step in flight when pausing finishes
  const pausedAt = Number(await panel.getAttribute('data-steps'));
  await page.waitForTimeout(2500);
  expect(Number(await panel.getAttribute('data-steps'))).toBe(pausedAt);
  expect(pausedAt).toBeLessThan(20);
  await panel.getByTestId('train-pause').click();
  await expect(panel).toHaveAttribute('data-state', 'running');
  await expect.poll(async () => Number(await panel.getAttribute('data-steps')), { timeout: 30_000 }).toBeGreaterThan(pausedAt);

  await expect(panel).toHaveAttribute('data-state', 'done', { timeout: 150_000 });
  await expect(panel.getByTestId('train-status')).toContainText('Done: 2 epochs on 400 images');
  expect(Number(await panel.getAttribute('data-steps'))).toBe(20);

  // The loss chart: one training point per step (logEvery 1 at 10 steps per epoch), the last below the first;
  // test points at the start and after each epoch, accuracy above chance after training.
  const loss = await series(panel.getByTestId('chart-loss'));
  const trainLoss = loss.train.filter((v): v is number => v !== null);
  expect(trainLoss).toHaveLength(20);
  expect(trainLoss.at(-1)!).toBeLessThan(trainLoss[0]!);
  const testEpochs = loss.epoch.filter((_, i) => loss.test[i] !== null);
  expect(testEpochs).toEqual([0, 1, 2]);
  const acc = await series(panel.getByTestId('chart-accuracy'));
  const testAcc = acc.test.filter((v): v is number => v !== null);
  expect(testAcc[2]!).toBeGreaterThan(testAcc[0]! + 0.1);
  await expect(panel.getByTestId('train-epochs-table').locator('tr')).toHaveCount(3);

  // Evolution strip: conv1 and conv2, channels 0 and 1, a projection after each epoch.
  for (const epoch of [1, 2]) {
    const cells = panel.locator(`[data-testid=evolution-cell][data-epoch="${epoch}"]`);
    await expect(cells).toHaveCount(4);
    for (const cell of await cells.all()) expect(await distinctColours(cell)).toBeGreaterThan(2);
  }
  await panel.screenshot({ path: 'docs/screenshots/training.png' });

  // Save: the manifest and its weights download.
  const downloads: string[] = [];
  page.on('download', (d) => downloads.push(d.suggestedFilename()));
  const firstDownload = page.waitForEvent('download');
  await panel.getByTestId('train-save').click();
  const manifest = JSON.parse(readFileSync(await (await firstDownload).path(), 'utf8')) as { format: string; metadata: { epochsDone: number } };
  expect(manifest.format).toBe('deconvnet-webgpu/model@1');
  expect(manifest.metadata.epochsDone).toBe(2);
  await expect.poll(() => downloads.slice().sort()).toEqual(['fashion-trained.bin', 'fashion-trained.json']);

  // Use it: the sidebar shows it and predicts a Fashion-MNIST class with it.
  const predictions = await counter('predictions');
  await panel.getByTestId('train-use').click();
  await expect(page.getByTestId('model-select')).toHaveValue('trained');
  await expect(page.getByTestId('model-note')).toContainText('Trained in the page (2 epochs');
  await counterAbove('predictions', predictions);
  const prediction = await page.getByTestId('prediction').textContent();
  expect(FASHION_CLASSES.some((c) => prediction!.includes(c)), prediction!).toBe(true);

  // Stop: a second, longer run ends at once when stopped, and its model can be used too.
  await panel.getByTestId('train-epochs').fill('3');
  const logs = await counter('trainLogs');
  await panel.getByTestId('train-start-button').click();
  await counterAbove('trainLogs', logs, 90_000);
  await panel.getByTestId('train-stop').click();
  await expect(panel).toHaveAttribute('data-state', 'stopped', { timeout: 10_000 });
  await expect(panel.getByTestId('train-status')).toContainText('Stopped after');
  const stoppedAt = Number(await panel.getAttribute('data-steps'));
  expect(stoppedAt).toBeLessThan(30);
  await expect(panel.getByTestId('train-start-button')).toBeEnabled();
  await expect(panel.getByTestId('train-pause')).toBeDisabled();
  await expect(panel.getByTestId('train-stop')).toBeDisabled();
  await page.waitForTimeout(1000);
  expect(Number(await panel.getAttribute('data-steps'))).toBe(stoppedAt);
  await panel.getByTestId('train-use').click();
  await expect(page.getByTestId('model-note')).toContainText('Trained in the page (');
  await expect(page.getByTestId('model-select')).toHaveValue('trained');
  await expectNoErrors();
});
