// The embedding example (examples/embed/) as a user runs it: built with its
// own Vite config, served by `vite preview`, opened in headless Chromium. The
// canvas must show the app's own scene: its background, the photo as a
// textured quad (pixel for pixel the photo the page decoded), and a second
// quad with the projection the library drew into a texture (the paper's
// grey-centred picture: mostly mid-grey, strong contrast where the unit looks),
// which changes with the channel; and the page reports no GPU error.
import { test, expect, type Page } from '@playwright/test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chromiumPath, chromiumArgs } from '../chromium.config';

// A WebGPU canvas must be presented by the compositor: with the WebGPU adapter
// on SwiftShader, Chromium only finds a shared-image backing for the canvas's
// swap chain when its compositor also runs on SwiftShader's Vulkan (without
// these, every present fails with "A valid external Instance reference no
// longer exists" / "Could not find SharedImageBackingFactory").
const WEBGPU_CANVAS_ARGS = ['--use-angle=swiftshader', '--enable-features=Vulkan', '--use-vulkan=swiftshader'];
test.use({ launchOptions: { executablePath: chromiumPath, args: [...chromiumArgs, ...WEBGPU_CANVAS_ARGS] } });

const port = Number(process.env.EMBED_PORT ?? 5198);
const outDir = process.env.EMBED_OUT_DIR ?? 'dist-demo-embed-example';
const base = `http://127.0.0.1:${port}`;
const vite = 'node_modules/vite/bin/vite.js';
const config = 'examples/embed/vite.config.ts';

let server: ChildProcess | undefined;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  const build = spawnSync(process.execPath, [vite, 'build', '-c', config, '--logLevel', 'warn'], { env: { ...process.env, EMBED_OUT_DIR: outDir }, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`building the example failed:\n${build.stdout}\n${build.stderr}`);
  server = spawn(process.execPath, [vite, 'preview', '-c', config, '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
    env: { ...process.env, EMBED_OUT_DIR: outDir }, stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(base)).ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`vite preview did not answer on ${base}`);
});

test.afterAll(() => {
  server?.kill();
});

/** Canvas geometry of examples/embed/main.ts: 512x256, quads 224 px square at (16, 16) and (272, 16). */
const PHOTO = { x: 16, y: 16, size: 224 };
const PROJECTION = { x: 272, y: 16, size: 224 };
const TEXELS = 64;

/** What the example reports on `window.embed` (examples/embed/main.ts). */
interface EmbedWindow {
  embed: EmbedStatus;
}
interface EmbedStatus { state: string; frames: number; gpuBytes: number; layer: string; channel: number; prediction: string; errors: string[] }

function embedStatus(page: Page): Promise<EmbedStatus> {
  return page.evaluate(() => ({ ...(window as unknown as EmbedWindow).embed }));
}

interface Pixels { width: number; height: number; data: number[] }

/** The canvas as shown on screen (a screenshot, decoded by the page itself). */
async function canvasPixels(page: Page): Promise<Pixels> {
  const png = (await page.locator('#scene').screenshot()).toString('base64');
  return page.evaluate(async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
    const c = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = c.getContext('2d')!;
    ctx.drawImage(bitmap, 0, 0);
    return { width: bitmap.width, height: bitmap.height, data: Array.from(ctx.getImageData(0, 0, bitmap.width, bitmap.height).data) };
  }, png);
}

/** RGB of the quad's texel (i, j), read at the texel's centre on screen. */
function texel(p: Pixels, quad: { x: number; y: number; size: number }, i: number, j: number): [number, number, number] {
  const step = quad.size / TEXELS;
  const x = Math.floor(quad.x + (i + 0.5) * step), y = Math.floor(quad.y + (j + 0.5) * step);
  const k = (y * p.width + x) * 4;
  return [p.data[k]!, p.data[k + 1]!, p.data[k + 2]!];
}

function quadTexels(p: Pixels, quad: typeof PHOTO): number[][] {
  const out: number[][] = [];
  for (let j = 0; j < TEXELS; j++) for (let i = 0; i < TEXELS; i++) out.push(texel(p, quad, i, j));
  return out;
}

async function waitForFrames(page: Page, atLeast: number): Promise<void> {
  await page.waitForFunction((n) => {
    const s = (window as unknown as Partial<EmbedWindow>).embed;
    return s?.state === 'error' || (s?.state === 'ready' && s.frames >= n);
  }, atLeast, { timeout: 120_000 });
  expect((await embedStatus(page)).errors).toEqual([]);
}

test('the embedding example draws the photo and the projection in its own scene, frame after frame, with no GPU error', async ({ page }) => {
  test.setTimeout(240_000);
  const consoleErrors: string[] = [];
  // Chromium reports WebGPU validation errors as console warnings.
  page.on('console', (m) => { if (m.type() === 'error' || (m.type() === 'warning' && /webgpu|gpu/i.test(m.text()))) consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await page.goto(base);
  await waitForFrames(page, 1);
  const first = await embedStatus(page);
  expect(first.layer).not.toBe('');
  // The library read the app's texture right: Tiny VGG calls this photo a ladybug, as TF.js does.
  expect(first.prediction).toMatch(/^ladybug/);

  const shot = await canvasPixels(page);
  expect([shot.width, shot.height]).toEqual([512, 256]);
  // The app's own render pass: its clear colour around the quads.
  const corner = shot.data.slice(0, 3);
  expect(Math.abs(corner[0]! - Math.round(0.07 * 255))).toBeLessThanOrEqual(1);
  expect(Math.abs(corner[2]! - Math.round(0.16 * 255))).toBeLessThanOrEqual(1);

  // Photo quad: the photo's own pixels, decoded here the way the page decodes it.
  const photo: number[][] = await page.evaluate(async (size) => {
    const blob = await (await fetch('samples/bug_1.jpeg')).blob();
    const bitmap = await createImageBitmap(blob, { resizeWidth: size, resizeHeight: size, resizeQuality: 'high' });
    const c = new OffscreenCanvas(size, size);
    const ctx = c.getContext('2d')!;
    ctx.drawImage(bitmap, 0, 0);
    const d = ctx.getImageData(0, 0, size, size).data;
    return Array.from({ length: size * size }, (_, i) => [d[i * 4]!, d[i * 4 + 1]!, d[i * 4 + 2]!]);
  }, TEXELS);
  const shown = quadTexels(shot, PHOTO);
  const photoError = shown.reduce((s, px, i) => s + px.reduce((t, v, c) => t + Math.abs(v - photo[i]![c]!), 0), 0) / (shown.length * 3);
  expect(photoError).toBeLessThan(2);

  // Projection quad: the paper's normalisation puts zero at mid-grey and the largest magnitude at 0 or 255.
  const proj = quadTexels(shot, PROJECTION);
  const greys = proj.filter((px) => px.every((v) => Math.abs(v - 127.5) <= 1.5)).length;
  const extreme = Math.max(...proj.flat().map((v) => Math.abs(v - 127.5)));
  expect(greys / proj.length).toBeGreaterThan(0.5);     // outside the unit's receptive field
  expect(proj.length - greys).toBeGreaterThan(20);      // not blank: a patch where the unit looks
  expect(extreme).toBeGreaterThan(120);                 // the strongest pixel reaches black or white
  const projError = proj.reduce((s, px, i) => s + Math.abs(px[0]! - photo[i]![0]!), 0) / proj.length;
  expect(projError).toBeGreaterThan(10);                // not a copy of the photo

  // Another channel: a new frame, a different projection, still no error.
  const next = (first.channel + 1) % 10;
  await page.locator('#channel').fill(String(next));
  await waitForFrames(page, first.frames + 1);
  expect((await embedStatus(page)).channel).toBe(next);
  const other = quadTexels(await canvasPixels(page), PROJECTION);
  const changed = other.filter((px, i) => px.some((v, c) => Math.abs(v - proj[i]![c]!) > 8)).length;
  expect(changed).toBeGreaterThan(20);

  // Cycling the channels, a projection every animation frame: no error, and the library's GPU memory stays flat.
  await page.locator('#animate').check();
  const cycling = (await embedStatus(page)).frames;
  await waitForFrames(page, cycling + 10);
  const before = await embedStatus(page);
  await waitForFrames(page, before.frames + 10);
  await page.locator('#animate').uncheck();
  const after = await embedStatus(page);
  expect(after.gpuBytes).toBe(before.gpuBytes);
  expect(after.gpuBytes).toBeGreaterThan(0);
  expect(consoleErrors).toEqual([]);
});
