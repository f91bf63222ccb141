// Projection: the chosen unit mapped back to pixels (DeconvNet, guided
// backprop, gradient, or all three side by side) beside the input, with the
// unit's receptive field drawn on the input and both crops under it.
import {
  fieldBox, cropToBox, projectionToImage, type FieldBox, type ProjectionMode,
} from '../../src/index.js';
import type { App, Panel, ProjectionChoice } from '../app.js';
import { el, paint, scaleFor, savePngButton, latestOnly, whileShown, messageOf, bump } from '../ui.js';

const MODES: ProjectionMode[] = ['deconvnet', 'guided', 'gradient'];
const CHOICES: Array<[ProjectionChoice, string]> = [['deconvnet', 'deconvnet'], ['guided', 'guided backprop'], ['gradient', 'gradient'], ['all', 'all three']];
const BOX_COLOUR = '#ff3b30';

export const projectionPanel: Panel = {
  id: 'projection',
  title: 'Projection',
  mount(app, root) {
    const radios = CHOICES.map(([value, label]) => {
      const radio = el('input', { type: 'radio', name: 'mode', value, checked: value === app.mode, 'data-testid': `mode-${value}` });
      radio.addEventListener('change', () => { if (radio.checked) void app.setMode(value); });
      return el('label', {}, radio, ` ${label}`);
    });
    const overlay = el('input', { type: 'checkbox', 'data-testid': 'overlay' });
    const label = el('p', { 'data-testid': 'projection-label' }, 'Click a feature map to project one of its units.');
    const figures = el('div', { class: 'row projection-figures', 'data-testid': 'projections' });
    const error = el('p', { class: 'error' });
    const latest = latestOnly();
    root.append(
      el('div', { class: 'row' }, el('span', {}, 'Mode: ', ...radios), el('label', {}, overlay, ' overlay on the image')),
      label, figures, error,
    );

    const render = whileShown(root, () => latest(async (isStale) => {
      const { fwd, selection: sel, image } = app;
      if (!fwd || !sel || !image) { figures.replaceChildren(); return; }
      const modes = app.mode === 'all' ? MODES : [app.mode];
      const results: Array<{ mode: ProjectionMode; data: Float32Array; shape: number[]; at: { y: number; x: number } | null }> = [];
      for (const mode of modes) {
        const projection = await app.net.deconv.project(fwd, { layer: sel.layer, channel: sel.channel, position: sel.position ?? 'max', mode });
        try {
          const [{ data, shape }, [at]] = await Promise.all([projection.read(), projection.positions()]);
          results.push({ mode, data, shape, at: at ?? null });
        } finally {
          projection.release();
        }
      }
      if (isStale()) return;
      const at = results[0]!.at ?? { y: 0, x: 0 };
      const box = fieldBox(app.net.model, sel.layer, at.y, at.x);
      figures.replaceChildren(
        inputFigure(image.rgba, box),
        ...results.map((r) => projectionFigure(r.mode, r.data, r.shape, image.rgba, overlay.checked)),
        cropFigure(image.rgba, results[0]!.data, results[0]!.shape, box),
      );
      label.textContent = `${sel.layer}, channel ${sel.channel}, unit (${at.y}, ${at.x})${sel.position ? '' : ', its strongest activation'}; `
        + `${modes.join(', ')}; receptive field rows ${box.top}..${box.top + box.height - 1}, columns ${box.left}..${box.left + box.width - 1}`;
      error.textContent = '';
      bump('projections');
    }).catch((e: unknown) => { error.textContent = messageOf(e); }));

    overlay.addEventListener('change', () => void render());
    app.on('selection', render);
    app.on('mode', () => {
      for (const radio of root.querySelectorAll<HTMLInputElement>('input[name=mode]')) radio.checked = radio.value === app.mode;
      return render();
    });
    app.on('forward', render);
    app.on('model', () => { figures.replaceChildren(); label.textContent = 'Click a feature map to project one of its units.'; });
    app.on('layer', () => { figures.replaceChildren(); });
  },
};

/** A canvas showing `rgba` at `scale`. */
function pictureCanvas(rgba: ImageData, scale: number, attrs: Record<string, string | number>): HTMLCanvasElement {
  const canvas = el('canvas', attrs);
  paint(canvas, rgba, scale);
  return canvas;
}

function figure(canvas: HTMLCanvasElement, caption: string, file: string): HTMLElement {
  return el('figure', { class: 'figure' }, canvas, el('figcaption', {}, caption, ' ', savePngButton(() => canvas, file, `save-${canvas.dataset.testid}${canvas.dataset.mode ? `-${canvas.dataset.mode}` : ''}`)));
}

/** The input with the receptive field drawn as a box; the box in input pixels is on the canvas's data attributes. */
function inputFigure(rgba: ImageData, box: FieldBox): HTMLElement {
  const scale = scaleFor(Math.max(rgba.width, rgba.height), 192);
  const canvas = pictureCanvas(rgba, scale, {
    'data-testid': 'projection-input', 'data-scale': scale,
    'data-box-top': box.top, 'data-box-left': box.left, 'data-box-height': box.height, 'data-box-width': box.width,
  });
  const ctx = canvas.getContext('2d')!;
  ctx.strokeStyle = BOX_COLOUR;
  ctx.lineWidth = 2;
  // The stroke lies inside the box's outer edge, so the box's first and last pixels are painted.
  ctx.strokeRect(box.left * scale + 1, box.top * scale + 1, box.width * scale - 2, box.height * scale - 2);
  return figure(canvas, `input, receptive field ${box.height}x${box.width}`, 'input-with-field.png');
}

/** The projection, grey-centred as in the paper, or blended over the input. */
function projectionFigure(mode: ProjectionMode, data: Float32Array, shape: number[], rgba: ImageData, overlay: boolean): HTMLElement {
  const picture = projectionToImage(data, shape, 0);
  const scale = scaleFor(Math.max(picture.width, picture.height), 192);
  const canvas = el('canvas', { 'data-testid': 'projection-canvas', 'data-mode': mode });
  paint(canvas, picture, scale);
  if (overlay) {
    const projected = new OffscreenCanvas(canvas.width, canvas.height);
    projected.getContext('2d')!.drawImage(canvas, 0, 0);
    paint(canvas, rgba, scale);
    const ctx = canvas.getContext('2d')!;
    ctx.globalAlpha = 0.65;
    ctx.globalCompositeOperation = 'hard-light';
    ctx.drawImage(projected, 0, 0);
  }
  return figure(canvas, mode, `projection-${mode}.png`);
}

/** What lies under the receptive field: the input and the projection, cropped to the box (black outside the image). */
function cropFigure(rgba: ImageData, data: Float32Array, shape: number[], box: FieldBox): HTMLElement {
  const [, c, h, w] = shape as [number, number, number, number];
  const scale = scaleFor(Math.max(box.width, box.height), 96);
  const inputCrop = el('canvas', { 'data-testid': 'crop-input', width: box.width * scale, height: box.height * scale });
  const source = new OffscreenCanvas(rgba.width, rgba.height);
  source.getContext('2d')!.putImageData(rgba, 0, 0);
  const ctx = inputCrop.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.fillRect(0, 0, inputCrop.width, inputCrop.height);
  ctx.drawImage(source, -box.left * scale, -box.top * scale, rgba.width * scale, rgba.height * scale);
  const projectionCrop = el('canvas', { 'data-testid': 'crop-projection' });
  paint(projectionCrop, projectionToImage(cropToBox(data.subarray(0, c * h * w), [c, h, w], box), [1, c, box.height, box.width]), scale);
  return el('div', { class: 'figure crops' },
    el('div', { class: 'row' }, inputCrop, projectionCrop),
    el('figcaption', {}, 'under the field: input and projection ',
      savePngButton(() => inputCrop, 'field-input.png', 'save-crop-input'), savePngButton(() => projectionCrop, 'field-projection.png', 'save-crop-projection')));
}
