// Invariance (Zeiler & Fergus 2014, Fig. 5): the current image translated,
// scaled and rotated step by step; for each step the Euclidean distance of a
// layer's feature vector from the untransformed image's, and the probability
// of the true (or chosen) class. UI only: invarianceCurves computes the
// curves (one call for all three transforms), uPlot draws them.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { invarianceCurves, inverseMatrix, transformSeries, type InvarianceResult, type Transform } from '../../src/index.js';
import { imageInput, type App, type Panel } from '../app.js';
import { el, paint, savePngButton, progressControl } from '../ui.js';
import { classChooser, runWithProgress } from './analysis_controls.js';

type Kind = 'translate-x' | 'translate-y' | 'scale' | 'rotate';

/** The three experiments of Fig. 5: what is varied, its unit, and its default range for a `side`-pixel image. */
const EXPERIMENTS = [
  { id: 'translation', title: 'Translation', unit: 'pixels', range: (side: number) => [-Math.round(side / 4), Math.round(side / 4)] },
  { id: 'scale', title: 'Scale', unit: 'factor', range: () => [0.6, 1.4] },
  { id: 'rotation', title: 'Rotation', unit: 'degrees', range: () => [0, 360] },
] as const;

/** Series colours (distance per layer; the class probability has its own chart). */
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

export const invariancePanel: Panel = {
  id: 'invariance',
  title: 'Invariance to translation, scale and rotation (paper Fig. 5)',
  mount(app, root) {
    const layerBoxes = el('span', { class: 'row', 'data-testid': 'invariance-layers' });
    const classes = classChooser(app, 'invariance-class');
    const steps = el('input', { type: 'number', min: 2, max: 181, value: 13, step: 1, style: 'width:4em', 'data-testid': 'invariance-steps', 'aria-label': 'Steps' });
    const direction = el('select', { 'data-testid': 'invariance-direction', 'aria-label': 'Translation direction' },
      new Option('horizontal', 'translate-x'), new Option('vertical', 'translate-y'));
    const ranges = EXPERIMENTS.map((e) => ({
      from: el('input', { type: 'number', step: 'any', style: 'width:4.5em', 'data-testid': `invariance-${e.id}-from`, 'aria-label': `${e.title} from` }),
      to: el('input', { type: 'number', step: 'any', style: 'width:4.5em', 'data-testid': `invariance-${e.id}-to`, 'aria-label': `${e.title} to` }),
    }));
    const run = el('button', { type: 'button', 'data-testid': 'invariance-run' }, 'Transform and measure');
    const progress = progressControl('invariance');
    const charts = el('div', { class: 'invariance-charts', 'data-testid': 'invariance-charts' });

    root.append(
      el('p', { class: 'note' }, 'Distances are || f(T x) − f(x) || over the whole output of each ticked layer; low layers change a lot '
        + 'under small transforms, higher layers less. Pixels brought in from outside the image are zero input.'),
      el('div', { class: 'row controls' }, el('span', {}, 'Layers '), layerBoxes),
      el('div', { class: 'row controls' }, el('label', {}, 'Class ', classes.select), el('label', {}, 'Steps ', steps),
        el('label', {}, 'Translation ', direction)),
      el('div', { class: 'row controls' }, ...EXPERIMENTS.map((e, i) =>
        el('label', {}, `${e.title} from `, ranges[i]!.from, ' to ', ranges[i]!.to, ` ${e.unit}`))),
      el('div', { class: 'row controls' }, run),
      progress.root, charts,
    );

    let plots: uPlot[] = [];
    let stale = new AbortController();

    function refreshControls() {
      const layers = app.featureLayers();
      const ticked = new Set([layers[0], layers[layers.length - 1]]);
      layerBoxes.replaceChildren(...layers.map((name) => el('label', {},
        el('input', { type: 'checkbox', value: name, checked: ticked.has(name), 'data-testid': `invariance-layer-${name}` }), ` ${name}`)));
      const [, h, w] = app.inputSize;
      EXPERIMENTS.forEach((e, i) => {
        const [from, to] = e.range(Math.min(h, w));
        ranges[i]!.from.value = String(from);
        ranges[i]!.to.value = String(to);
      });
    }

    function clear() {
      for (const p of plots) p.destroy();
      plots = [];
      charts.replaceChildren();
    }

    async function runInvariance() {
      const { net, image } = app;
      if (!image) { progress.finish('Choose an image first.'); return; }
      const layers = [...layerBoxes.querySelectorAll<HTMLInputElement>('input:checked')].map((b) => b.value);
      if (layers.length === 0) { progress.finish('Tick at least one layer.'); return; }
      const n = Math.max(2, Math.floor(Number(steps.value) || 2));
      const kinds: Kind[] = [direction.value as Kind, 'scale', 'rotate'];
      const transforms = kinds.flatMap((kind, i) => transformSeries(kind, Number(ranges[i]!.from.value), Number(ranges[i]!.to.value), n));
      await runWithProgress(progress, run, stale.signal, 'invariance-runs', async (signal) => {
        const result = await invarianceCurves(net.model, imageInput(net, image.rgba), {
          transforms, layers, classIndex: classes.chosen(), signal, onProgress: (p) => progress.update(p.done, p.total),
        });
        clear();
        kinds.forEach((kind, i) => charts.append(experimentRow(app, EXPERIMENTS[i]!, kind, result, i * n, n)));
        return `${transforms.length} transformed images.`;
      });
    }

    /** One experiment: the transformed images, the distance chart and the probability chart. */
    function experimentRow(app: App, e: (typeof EXPERIMENTS)[number], kind: Kind, r: InvarianceResult, offset: number, n: number): HTMLElement {
      const xs = r.transforms.slice(offset, offset + n).map(axisValue);
      const slice = (a: Float32Array) => Array.from(a.subarray(offset, offset + n));
      const xLabel = `${kind === 'translate-y' ? 'vertical ' : kind === 'translate-x' ? 'horizontal ' : ''}${e.title.toLowerCase()} (${e.unit})`;
      const distance = chart(`${e.id}-distance`, `${e.title}: feature distance`, xLabel, xs,
        r.layers.map((name, l) => ({ label: name, values: slice(r.distances[l]!) })));
      const probability = chart(`${e.id}-probability`, `${e.title}: p(${app.className(r.classIndex)})`, xLabel, xs,
        [{ label: `p(${app.className(r.classIndex)})`, values: slice(r.classProbability) }], [0, 1]);
      return el('div', { class: 'invariance-row', 'data-testid': `invariance-${e.id}` },
        el('h3', {}, e.title), transformStrip(app, r, offset, n, e.id), el('div', { class: 'row' }, distance, probability));
    }

    /** A uPlot line chart of `lines` against `xs`, with its own Save PNG button. */
    function chart(id: string, title: string, xLabel: string, xs: number[], lines: Array<{ label: string; values: number[] }>, yRange?: [number, number]): HTMLElement {
      const holder = el('div', { class: 'chart', 'data-testid': `invariance-chart-${id}`, 'data-points': xs.length, 'data-series': lines.length });
      const plot = new uPlot({
        title, width: 380, height: 220,
        scales: { x: { time: false }, y: yRange ? { range: yRange } : { auto: true } },
        axes: [{ label: xLabel }, {}],
        series: [{ label: xLabel }, ...lines.map((l, i) => ({ label: l.label, stroke: COLOURS[i % COLOURS.length], width: 2, points: { show: true } }))],
      }, [xs, ...lines.map((l) => l.values)], holder);
      plots.push(plot);
      holder.append(savePngButton(() => chartPicture(plot, title), `invariance-${id}.png`, `invariance-save-${id}`));
      return holder;
    }

    run.addEventListener('click', () => void runInvariance());
    const reset = () => { stale.abort(); stale = new AbortController(); clear(); };
    app.on('model', () => { reset(); refreshControls(); classes.refresh(); });
    app.on('image', () => { reset(); classes.refresh(); });
  },
};

/** Where a transform sits on its chart's x axis: the pixels, factor or degrees it was made with. */
function axisValue(t: Transform): number {
  switch (t.kind) {
    case 'translate': return t.dx !== 0 ? t.dx : t.dy;
    case 'scale': return t.factor;
    case 'rotate': return t.degrees;
  }
}

/**
 * The transformed images, drawn by the browser with the transform whose
 * inverse the library samples with (inverseMatrix), about pixel centres.
 */
function transformStrip(app: App, r: InvarianceResult, offset: number, n: number, id: string): HTMLElement {
  const image = app.image!.rgba;
  const source = document.createElement('canvas');
  paint(source, image, 1);
  const strip = el('div', { class: 'invariance-strip' });
  for (let i = 0; i < n; i++) {
    const [a, b, c, d, e, f] = inverseMatrix(r.transforms[offset + i]!, image.height, image.width);
    // inverseMatrix maps output pixel (x, y) to the input; the canvas needs input -> output, in pixel-corner coordinates.
    const forward = new DOMMatrix().translate(0.5, 0.5).multiply(new DOMMatrix([a!, d!, b!, e!, c!, f!]).inverse()).translate(-0.5, -0.5);
    const canvas = el('canvas', { width: image.width, height: image.height });
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(forward);
    ctx.drawImage(source, 0, 0);
    strip.append(canvas);
  }
  const save = savePngButton(() => stripPicture(strip), `invariance-${id}-images.png`, `invariance-save-${id}-images`);
  return el('div', { class: 'row' }, strip, save);
}

/** The strip's pictures side by side in one canvas, for Save PNG. */
function stripPicture(strip: HTMLElement): HTMLCanvasElement {
  const canvases = [...strip.querySelectorAll('canvas')];
  const out = el('canvas', { width: canvases.reduce((w, c) => w + c.width, 0), height: Math.max(0, ...canvases.map((c) => c.height)) });
  const ctx = out.getContext('2d')!;
  let x = 0;
  for (const c of canvases) { ctx.drawImage(c, x, 0); x += c.width; }
  return out;
}

/** A chart's canvas on white with its title, for saving. */
function chartPicture(plot: uPlot, title: string): HTMLCanvasElement {
  const src = plot.ctx.canvas;
  const out = document.createElement('canvas');
  out.width = src.width;
  out.height = src.height + 28;
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = '#222';
  ctx.font = `${Math.round(14 * devicePixelRatio)}px system-ui, sans-serif`;
  ctx.fillText(title, 8, 20);
  ctx.drawImage(src, 0, 28);
  return out;
}
