// Small DOM helpers shared by the panels. No maths here: pictures come from the library.
import { DestroyedError, type RgbaImage } from '../src/index.js';

type Attrs = Record<string, string | number | boolean | undefined>;

/** `el('button', { type: 'button', 'data-testid': 'go' }, 'Go')`. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K, attrs: Attrs = {}, ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? '' : String(value));
  }
  node.append(...children);
  return node;
}

/** Draws an RGBA picture into `canvas` at an integer `scale` with crisp pixels. */
export function paint(canvas: HTMLCanvasElement, image: RgbaImage | ImageData, scale = 1): void {
  canvas.width = image.width * scale;
  canvas.height = image.height * scale;
  const ctx = canvas.getContext('2d')!;
  const data = image instanceof ImageData ? image : new ImageData(new Uint8ClampedArray(image.data), image.width, image.height);
  if (scale === 1) { ctx.putImageData(data, 0, 0); return; }
  const source = new OffscreenCanvas(image.width, image.height);
  source.getContext('2d')!.putImageData(data, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
}

/** The integer scale that shows a `size`-pixel picture at about `target` pixels. */
export function scaleFor(size: number, target = 224): number {
  return Math.max(1, Math.round(target / Math.max(1, size)));
}

/** A "Save PNG" button that downloads `canvas()` as `filename`. */
export function savePngButton(canvas: () => HTMLCanvasElement, filename: string, testId?: string): HTMLButtonElement {
  const button = el('button', { type: 'button', class: 'save', 'data-testid': testId, title: `Save as ${filename}` }, 'Save PNG');
  button.addEventListener('click', () => {
    canvas().toBlob((blob) => {
      if (!blob) return;
      const a = el('a', { href: URL.createObjectURL(blob), download: filename });
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    }, 'image/png');
  });
  return button;
}

/** Progress bar + cancel button + status text for a long run; `start()` returns the AbortSignal. */
export function progressControl(testId: string) {
  const bar = el('progress', { max: 1, value: 0, 'data-testid': `${testId}-progress` });
  const cancel = el('button', { type: 'button', 'data-testid': `${testId}-cancel`, disabled: true }, 'Cancel');
  const text = el('span', { class: 'note', 'data-testid': `${testId}-status` });
  const root = el('div', { class: 'progress' }, bar, cancel, text);
  let controller: AbortController | null = null;
  cancel.addEventListener('click', () => controller?.abort());
  return {
    root,
    start(): AbortSignal {
      controller?.abort();
      controller = new AbortController();
      bar.value = 0;
      cancel.disabled = false;
      text.textContent = 'Running…';
      return controller.signal;
    },
    update(done: number, total: number) { bar.value = total > 0 ? done / total : 0; },
    finish(message: string) { cancel.disabled = true; controller = null; text.textContent = message; },
    get running() { return controller !== null; },
  };
}

/** The message of an error, for the page. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Counts up a body data attribute (e2e tests wait on these: data-<name>="N"). */
export function bump(name: string): void {
  const key = name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  document.body.dataset[key] = String(Number(document.body.dataset[key] ?? 0) + 1);
}

/** An image (file, URL or pixels) drawn (stretched) at `width` x `height`: the RGBA pixels a model of that input size sees. */
export async function imageDataAt(source: Blob | ImageData | string, width: number, height: number): Promise<ImageData> {
  if (source instanceof ImageData && source.width === width && source.height === height) return source;
  const pixels = typeof source === 'string' ? await fetch(source).then((r) => {
    if (!r.ok) throw new Error(`${source}: HTTP ${r.status}`);
    return r.blob();
  }) : source;
  const bitmap = await createImageBitmap(pixels);
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  return ctx.getImageData(0, 0, width, height);
}

/** A labelled range input showing its value: `slider('Epochs', 'train-epochs', { min: 1, max: 10, value: 1 })`. */
export function slider(
  label: string, testId: string,
  range: { min: number; max: number; step?: number; value: number },
  format: (value: number) => string = String,
) {
  const input = el('input', { type: 'range', min: range.min, max: range.max, step: range.step ?? 1, value: range.value, 'data-testid': testId, 'aria-label': label });
  const shown = el('output', {}, format(range.value));
  input.addEventListener('input', () => { shown.textContent = format(Number(input.value)); });
  return {
    root: el('label', { class: 'slider' }, `${label} `, input, ' ', shown),
    input,
    get value() { return Number(input.value); },
    set value(v: number) { input.value = String(v); shown.textContent = format(Number(input.value)); },
  };
}

/** The `width` x `height` part of a picture at (x, y): one tile of a grid drawn by the library. */
export function cropPicture(image: RgbaImage | ImageData, x: number, y: number, width: number, height: number): ImageData {
  const out = new ImageData(width, height);
  for (let row = 0; row < height; row++) {
    const from = ((y + row) * image.width + x) * 4;
    out.data.set(image.data.subarray(from, from + width * 4), row * width * 4);
  }
  return out;
}

/** Runs only the latest of overlapping async renders: `latest(async (isStale) => ...)`; a stale one stops quietly. */
export function latestOnly() {
  let seq = 0;
  return async (work: (isStale: () => boolean) => Promise<void>): Promise<void> => {
    const mine = ++seq;
    const isStale = () => mine !== seq;
    try {
      await work(isStale);
    } catch (e) {
      // A newer forward pass released what this render was reading: the render for it follows.
      if (!isStale() && !(e instanceof DestroyedError)) throw e;
    }
  };
}

/** A panel's render that runs only while its tab shows; one asked for while hidden runs when the tab is shown again. */
export function whileShown(root: HTMLElement, render: () => Promise<void>): () => Promise<void> {
  let pending = false;
  const hidden = () => root.closest<HTMLElement>('.tab')?.hidden === true;
  window.addEventListener('tabshown', () => {
    if (pending && !hidden()) { pending = false; void render(); }
  });
  return async () => {
    if (hidden()) { pending = true; return; }
    await render();
  };
}
