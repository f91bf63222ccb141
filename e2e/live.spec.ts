import { test, expect, type Page } from '@playwright/test';
import { chromiumPath, chromiumArgs } from '../chromium.config';

// Chromium's fake camera (a moving test pattern) with the permission granted.
test.use({
  launchOptions: {
    executablePath: chromiumPath,
    args: [...chromiumArgs, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  },
});

function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  page.on('pageerror', (err) => errors.push(err.message));
  return errors;
}

/** The projection canvas's pixels, as a string to compare frames by. */
function projectionPixels(page: Page): Promise<string> {
  return page.getByTestId('live-projection').evaluate((el) => {
    const canvas = el as HTMLCanvasElement;
    const copy = document.createElement('canvas');
    copy.width = canvas.width;
    copy.height = canvas.height;
    const ctx = copy.getContext('2d')!;
    ctx.drawImage(canvas, 0, 0);
    return Array.from(ctx.getImageData(0, 0, copy.width, copy.height).data).join(',');
  });
}

test('webcam switch: live projection of the fake camera, frame rate shown, stops cleanly', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/');
  await expect(page.locator('body[data-ready=true]')).toBeVisible({ timeout: 120_000 });
  await page.getByTestId('live-toggle').check();

  const fps = page.getByTestId('live-fps');
  await expect(fps).toHaveText(/^\d+(\.\d)? frames\/s$/, { timeout: 60_000 });
  await expect(fps).toHaveAttribute('data-frames', /^([5-9]|\d{2,})$/, { timeout: 60_000 });
  expect(await page.getByTestId('live-status').textContent()).toBe('');

  // The drawn projection follows the camera: frames differ.
  const seen = new Set<string>();
  // Sampled until three differ (or 30 s): the frame rate on a loaded CPU may be a few frames a second.
  for (let i = 0; i < 60 && seen.size < 3; i++) {
    seen.add(await projectionPixels(page));
    await page.waitForTimeout(500);
  }
  expect(seen.size, 'distinct projection frames').toBeGreaterThanOrEqual(3);
  const size = await page.getByTestId('live-projection').evaluate((el) => [(el as HTMLCanvasElement).width, (el as HTMLCanvasElement).height]);
  expect(size[0]).toBeGreaterThan(0);

  await page.getByTestId('live-toggle').uncheck();
  await expect(page.getByTestId('live-projection')).toHaveCount(0);
  await expect(fps).toHaveText('');

  const gpuErrors = await page.evaluate(() => (window as unknown as { __gpuErrors: string[] }).__gpuErrors);
  expect(gpuErrors).toEqual([]);
  expect(errors).toEqual([]);
});

test('webcam switch: a refused camera permission is a clear message and the switch turns off', async ({ page }) => {
  const errors = collectErrors(page);
  // What the browser does when the user blocks the camera.
  await page.addInitScript(() => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
  });
  await page.goto('/');
  await expect(page.locator('body[data-ready=true]')).toBeVisible({ timeout: 120_000 });
  await page.getByTestId('live-toggle').click(); // not check(): it turns itself off at once
  await expect(page.getByTestId('live-status')).toHaveText(/Webcam unavailable: camera: permission to use the camera was denied/, { timeout: 30_000 });
  await expect(page.getByTestId('live-toggle')).not.toBeChecked();
  await expect(page.getByTestId('live-projection')).toHaveCount(0);
  expect(errors).toEqual([]);
});
