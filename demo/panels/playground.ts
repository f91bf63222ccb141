// Conv2DTranspose playground (the seed's Keras example): the current image,
// each colour channel deconvolved with one kernel the user sets (size,
// stride, padding, the weights in an editable grid, the bias, or a preset),
// shown beside the original at the same pixel scale. The library's
// deconvolveImage runs the conv2dTranspose op with groups = 3 (depthwise);
// planesToImage shows the result clamped to 0..1, or signed (zero grey)
// when it has negative values (edge kernels), unless the user picks one.
import {
  deconvolveImage, kernelPreset, kerasTransposeLength, planesToImage, preprocessRgba, UNIT_RANGE, KERNEL_PRESETS,
  type KernelPreset, type DisplayRange,
} from '../../src/index.js';
import type { App, Panel } from '../app.js';
import { el, paint, slider, scaleFor, savePngButton, messageOf, bump } from '../ui.js';

const PRESET_TITLES: Record<KernelPreset, string> = {
  identity: 'identity', 'box-blur': 'box blur', 'gaussian-blur': 'Gaussian blur',
  'sobel-x': 'edge: Sobel x', 'sobel-y': 'edge: Sobel y', laplacian: 'edge: Laplacian', emboss: 'emboss',
};

/** Widest the output is drawn, in CSS pixels; both pictures share the scale so their sizes compare. */
const MAX_OUTPUT_WIDTH = 576;

export const playgroundPanel: Panel = {
  id: 'playground',
  title: 'Conv2DTranspose playground',
  mount(app: App, root: HTMLElement) {
    const preset = el('select', { 'data-testid': 'kernel-preset', 'aria-label': 'Kernel preset' },
      ...KERNEL_PRESETS.map((p) => new Option(PRESET_TITLES[p], p)), new Option('custom (edited)', 'custom'));
    const size = slider('Kernel size', 'kernel-size', { min: 1, max: 7, value: 3 }, (v) => `${v}x${v}`);
    const stride = slider('Stride', 'kernel-stride', { min: 1, max: 4, value: 1 });
    const padding = el('select', { 'data-testid': 'kernel-padding', 'aria-label': 'Padding' }, new Option("'same'", 'same'), new Option("'valid'", 'valid'));
    const bias = el('input', { type: 'number', step: 0.05, value: 0, size: 5, 'data-testid': 'kernel-bias', 'aria-label': 'Bias' });
    const display = el('select', { 'data-testid': 'kernel-display', 'aria-label': 'Display' },
      new Option('auto', 'auto'), new Option('clamp to 0..1', 'clamp'), new Option('signed (zero grey)', 'signed'));
    const grid = el('div', { class: 'kernel-grid', 'data-testid': 'kernel-grid' });
    const original = el('canvas', { 'data-testid': 'playground-original' });
    const output = el('canvas', { 'data-testid': 'playground-output' });
    const originalCaption = el('figcaption', {});
    const outputCaption = el('figcaption', { 'data-testid': 'playground-output-caption' });
    const sizeNote = el('p', { class: 'note', 'data-testid': 'playground-size' });
    const error = el('p', { class: 'error', 'data-testid': 'playground-error', role: 'alert' });

    let weights = Float32Array.from(kernelPreset('identity', 3).weights);
    let seq = 0;
    /** The image changed since the output was drawn. */
    let stale = true;

    function drawGrid() {
      const k = size.value;
      grid.style.gridTemplateColumns = `repeat(${k}, auto)`;
      grid.replaceChildren(...Array.from(weights, (w, i) => {
        const input = el('input', {
          type: 'number', step: 0.1, value: Number(w.toFixed(4)), 'data-testid': 'kernel-weight',
          'data-row': Math.floor(i / k), 'data-col': i % k, 'aria-label': `weight row ${Math.floor(i / k)} column ${i % k}`,
        });
        input.addEventListener('input', () => {
          const v = Number(input.value);
          if (input.value.trim() === '' || !Number.isFinite(v)) return;
          weights[i] = v;
          preset.value = 'custom';
          void compute();
        });
        return input;
      }));
    }

    /** The chosen preset at the chosen size; a custom kernel keeps the weights that still fit. */
    function applyPreset() {
      const k = size.value;
      error.textContent = '';
      if (preset.value === 'custom') {
        const old = weights, oldK = Math.round(Math.sqrt(old.length));
        weights = new Float32Array(k * k);
        for (let y = 0; y < Math.min(k, oldK); y++) for (let x = 0; x < Math.min(k, oldK); x++) weights[y * k + x] = old[y * oldK + x]!;
      } else {
        try {
          weights = Float32Array.from(kernelPreset(preset.value as KernelPreset, k).weights);
        } catch (e) {
          error.textContent = messageOf(e);
          return;
        }
      }
      drawGrid();
      void compute();
    }

    async function compute() {
      const image = app.image;
      if (!image) { sizeNote.textContent = 'Choose an image in the sidebar.'; return; }
      const mine = ++seq;
      stale = false;
      const { rgba } = image;
      const k = size.value, s = stride.value, pad = padding.value as 'same' | 'valid';
      try {
        const planes = { data: preprocessRgba(rgba.data, rgba.width, rgba.height, 3, UNIT_RANGE), shape: [3, rgba.height, rgba.width] as [number, number, number] };
        const out = await deconvolveImage(app.runtime, planes, { weights, height: k, width: k, bias: Number(bias.value) || 0 }, { stride: s, padding: pad });
        if (mine !== seq) return; // a newer setting won
        const [, oh, ow] = out.shape;
        const { image: picture, range } = planesToImage(out.data, out.shape, display.value as DisplayRange);
        const scale = Math.max(1, Math.min(scaleFor(rgba.width, 192), Math.floor(MAX_OUTPUT_WIDTH / ow)));
        paint(original, rgba, scale);
        paint(output, picture, scale);
        output.dataset.shape = `${oh}x${ow}`;
        original.dataset.shape = `${rgba.height}x${rgba.width}`;
        originalCaption.textContent = `${image.name}: 3 x ${rgba.height} x ${rgba.width}`;
        outputCaption.textContent = `Conv2DTranspose: 3 x ${oh} x ${ow}, ${range === 'clamp' ? 'clamped to 0..1' : 'signed: zero is grey, the largest magnitude black/white'}`;
        const formula = pad === 'same' ? 'in x stride' : 'in x stride + max(k - stride, 0)';
        sizeNote.textContent = `Keras output size ('${pad}'): ${formula} = ${kerasTransposeLength(rgba.height, k, s, pad)} x ${kerasTransposeLength(rgba.width, k, s, pad)}. `
          + 'Each channel is deconvolved with the same kernel (groups = 3), by the library\'s conv2dTranspose op.';
        error.textContent = '';
        bump('playground-runs');
      } catch (e) {
        if (mine === seq) error.textContent = messageOf(e);
      }
    }

    preset.addEventListener('change', applyPreset);
    size.input.addEventListener('change', applyPreset);
    for (const control of [stride.input, padding, bias, display]) control.addEventListener('change', () => void compute());
    // Only while the tab shows (the op's shaders compile on first use); never holding up the image change.
    const shown = () => root.closest('[hidden]') === null;
    app.on('image', () => { stale = true; if (shown()) void compute(); });
    window.addEventListener('tabshown', (e) => { if ((e as CustomEvent<string>).detail === 'playground' && stale) void compute(); });
    drawGrid();

    root.append(
      el('p', { class: 'note' }, 'The Keras example: an image deconvolved with a kernel you set. Every colour channel goes through a '
        + 'Conv2DTranspose with this one kernel and bias; stride 2 and more spread the pixels apart and fill in between with the kernel.'),
      el('div', { class: 'row controls' }, el('label', {}, 'Preset ', preset), size.root, stride.root, el('label', {}, 'Padding ', padding),
        el('label', {}, 'Bias ', bias), el('label', {}, 'Display ', display)),
      el('div', { class: 'row' },
        el('fieldset', {}, el('legend', { class: 'note' }, 'Kernel weights'), grid),
        el('div', { class: 'row playground-figures' },
          el('figure', { class: 'figure' }, original, originalCaption, savePngButton(() => original, 'playground-original.png', 'playground-save-original')),
          el('figure', { class: 'figure' }, output, outputCaption, savePngButton(() => output, 'playground-output.png', 'playground-save-output')))),
      sizeNote, error,
    );
  },
};
