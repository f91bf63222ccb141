// Occlusion sensitivity (Zeiler & Fergus 2014, Fig. 7): a grey square slides
// over the image and three maps show, per position of the square, (a) the
// total activation of the layer's strongest feature map, (b) the probability
// of the true (or chosen) class and (c) the most probable class. UI only:
// occlusionSensitivity computes the maps, the render helpers colour them.
import {
  occlusionSensitivity, occlusionMapBox, heatMapToImage, labelMapToImage, labelCounts, categoricalColor,
  projectionToImage, type OcclusionResult, type RgbaImage,
} from '../../src/index.js';
import { imageInput, type App, type Net, type Panel } from '../app.js';
import { el, paint, scaleFor, savePngButton, progressControl } from '../ui.js';
import { classChooser, runWithProgress } from './analysis_controls.js';

/** Opacity of a map drawn over the image. */
const OVERLAY_ALPHA = 0.7;

export const occlusionPanel: Panel = {
  id: 'occlusion',
  title: 'Occlusion sensitivity (paper Fig. 7)',
  mount(app, root) {
    const layerSelect = el('select', { 'data-testid': 'occlusion-layer', 'aria-label': 'Layer' });
    const size = el('input', { type: 'number', min: 1, step: 1, style: 'width:4em', 'data-testid': 'occlusion-size', 'aria-label': 'Occluder size' });
    const stride = el('input', { type: 'number', min: 1, step: 1, style: 'width:4em', 'data-testid': 'occlusion-stride', 'aria-label': 'Stride' });
    const fillSelect = el('select', { 'data-testid': 'occlusion-fill', 'aria-label': 'Fill' },
      new Option('grey pixel', 'grey'), new Option('black pixel', 'black'), new Option('zero input', 'zero'));
    const classes = classChooser(app, 'occlusion-class');
    const overlay = el('input', { type: 'checkbox', checked: true, 'data-testid': 'occlusion-overlay' });
    const run = el('button', { type: 'button', 'data-testid': 'occlusion-run' }, 'Occlude');
    const progress = progressControl('occlusion');
    const summary = el('p', { class: 'note', 'data-testid': 'occlusion-summary' });
    const maps = el('div', { class: 'row occlusion-maps', 'data-testid': 'occlusion-maps' });

    root.append(
      el('p', { class: 'note' }, 'A square of the fill colour covers the image at every position of a grid; each cell of a map is '
        + 'what the model did with the square centred there. Where covering the object drops the class probability, the model looks at the object.'),
      el('div', { class: 'row controls' },
        el('label', {}, 'Layer ', layerSelect), el('label', {}, 'Square ', size, ' px'), el('label', {}, 'stride ', stride, ' px'),
        el('label', {}, 'fill ', fillSelect), el('label', {}, 'Class ', classes.select)),
      el('div', { class: 'row controls' }, run, el('label', {}, overlay, ' over the image')),
      progress.root, summary, maps,
    );

    let result: OcclusionResult | null = null;
    /** The strongest activation of map (a)'s channel projected to pixels, as in the paper's Fig. 7 (c). */
    let projection: RgbaImage | null = null;
    /** Aborts a run whose model or image was replaced. */
    let stale = new AbortController();

    function refreshControls() {
      const [, h, w] = app.inputSize;
      layerSelect.replaceChildren(...app.featureLayers().map((name) => new Option(name, name, false, name === app.layer)));
      const side = Math.max(1, Math.round(Math.min(h, w) / 4));
      size.max = String(Math.min(h, w));
      size.value = String(side);
      stride.value = String(Math.max(1, Math.round(side / 2)));
    }

    /** The fill as a model input value: what preprocessing makes of a grey or black pixel (channel 0), or 0. */
    function fillValue(): number {
      if (fillSelect.value === 'zero') return 0;
      const v = fillSelect.value === 'grey' ? 128 : 0;
      return imageInput(app.net, new ImageData(Uint8ClampedArray.of(v, v, v, 255), 1, 1))[0]!;
    }

    async function runOcclusion() {
      const { net, image } = app;
      if (!image) { progress.finish('Choose an image first.'); return; }
      await runWithProgress(progress, run, stale.signal, 'occlusion-runs', async (signal) => {
        const input = imageInput(net, image.rgba);
        result = await occlusionSensitivity(net.model, input, {
          layer: layerSelect.value, size: Number(size.value), stride: Number(stride.value), fill: fillValue(),
          classIndex: classes.chosen(), signal, onProgress: (p) => progress.update(p.done, p.total),
        });
        projection = await strongestProjection(net, input, result);
        draw();
        return `${result.rows}x${result.cols} positions.`;
      });
    }

    function draw() {
      if (!result || !app.image) { maps.replaceChildren(); summary.textContent = ''; return; }
      const r = result;
      const u = r.unoccluded;
      summary.textContent = `Unoccluded: ${app.className(r.classIndex)} ${u.classProbability.toFixed(3)}, top class ${app.className(u.topLabel)}; `
        + `strongest feature map of ${r.layer}: channel ${r.strongestChannel} (total ${u.featureActivation.toFixed(2)}).`;
      const feature = heatMapToImage(r.featureActivation, r.cols, r.rows);
      const probability = heatMapToImage(r.classProbability, r.cols, r.rows, { min: 0, max: 1 });
      const labels = labelMapToImage(r.topLabel, r.cols, r.rows);
      maps.replaceChildren(
        mapFigure('feature', `(a) total activation of ${r.layer} channel ${r.strongestChannel}`, feature,
          rangeLegend(r.featureActivation, false)),
        projectionFigure(r),
        mapFigure('probability', `(b) p(${app.className(r.classIndex)})`, probability, rangeLegend(r.classProbability, true)),
        mapFigure('label', '(c) most probable class', labels, classLegend(app, r.topLabel)),
      );
    }

    function projectionFigure(r: OcclusionResult): HTMLElement {
      const canvas = el('canvas', { 'data-testid': 'occlusion-projection' });
      const [, h, w] = app.inputSize;
      paint(canvas, projection!, scaleFor(Math.max(w, h), 192));
      return el('figure', { class: 'figure' }, canvas,
        el('figcaption', {}, `channel ${r.strongestChannel}'s strongest activation projected to pixels`),
        savePngButton(() => canvas, 'occlusion-projection.png', 'occlusion-save-projection'));
    }

    function mapFigure(kind: string, caption: string, map: RgbaImage, legend: HTMLElement): HTMLElement {
      const r = result!;
      const canvas = el('canvas', { 'data-testid': `occlusion-map-${kind}`, 'data-rows': r.rows, 'data-cols': r.cols });
      const [, h, w] = app.inputSize;
      const scale = scaleFor(Math.max(w, h), 192);
      canvas.width = w * scale;
      canvas.height = h * scale;
      const ctx = canvas.getContext('2d')!;
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      if (overlay.checked) {
        const image = document.createElement('canvas');
        paint(image, app.image!.rgba, 1);
        ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
        ctx.globalAlpha = OVERLAY_ALPHA;
      }
      const cells = document.createElement('canvas');
      paint(cells, map, 1);
      const box = occlusionMapBox(r);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(cells, box.left * scale, box.top * scale, box.width * scale, box.height * scale);
      ctx.globalAlpha = 1;
      return el('figure', { class: 'figure' }, canvas, el('figcaption', {}, caption), legend,
        savePngButton(() => canvas, `occlusion-${kind}.png`, `occlusion-save-${kind}`));
    }

    overlay.addEventListener('change', draw);
    run.addEventListener('click', () => void runOcclusion());
    size.addEventListener('input', () => { stride.value = String(Math.max(1, Math.round(Number(size.value) / 2))); });
    const reset = () => {
      stale.abort();
      stale = new AbortController();
      result = null;
      projection = null;
      draw();
    };
    app.on('model', () => { reset(); refreshControls(); classes.refresh(); });
    app.on('image', () => { reset(); classes.refresh(); });
    app.on('layer', () => { layerSelect.value = app.layer; });
  },
};

/** A fresh forward pass of `input` and the DeconvNet projection of the strongest activation of the result's channel. */
async function strongestProjection(net: Net, input: Float32Array, r: OcclusionResult): Promise<RgbaImage> {
  const fwd = await net.model.forward(input);
  try {
    const projection = await net.deconv.project(fwd, { layer: r.layer, channel: r.strongestChannel });
    try {
      const { data, shape } = await projection.read();
      return projectionToImage(data, shape);
    } finally {
      projection.release();
    }
  } finally {
    fwd.release();
  }
}

/** The jet colour bar with the map's lowest and highest values (or 0 and 1 for probabilities). */
function rangeLegend(values: Float32Array, probability: boolean): HTMLElement {
  const ramp = document.createElement('canvas');
  paint(ramp, heatMapToImage(Float32Array.from({ length: 128 }, (_, i) => i), 128, 1), 1);
  ramp.className = 'colour-bar';
  let lo = Infinity, hi = -Infinity;
  for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const [min, max] = probability ? [0, 1] : [lo, hi];
  return el('div', { class: 'legend' }, el('span', {}, min.toFixed(probability ? 0 : 2)), ramp, el('span', {}, max.toFixed(probability ? 0 : 2)));
}

/** The classes that occur in the label map, each with its colour and its number of positions. */
function classLegend(app: App, labels: Int32Array): HTMLElement {
  return el('ul', { class: 'legend classes', 'data-testid': 'occlusion-legend' }, ...labelCounts(labels).map(({ label, count }) => {
    const [r, g, b] = categoricalColor(label);
    return el('li', { 'data-label': label }, el('span', { class: 'swatch', style: `background: rgb(${r}, ${g}, ${b})` }),
      `${app.className(label)} (${count})`);
  }));
}

