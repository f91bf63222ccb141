// Training (the paper's Fig. 4): trains the Fashion-MNIST architecture in the
// page on the subset shipped in demo/public/data, from scratch or from the
// shipped weights, with live loss and accuracy charts (uPlot), pause and stop,
// the test-subset score after every epoch, and the feature-evolution strip:
// for chosen feature maps, the projection of their strongest activation over
// a fixed probe set, taken after the chosen epochs. UI only: train(),
// evaluate(), saveModel() and the projections come from the library.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import {
  createModel, fashionZFNetLayers, loadSavedModel, loadIdxDataset, train, evaluate, saveModel, projectionToImage,
  FASHION_MNIST_CLASSES, UNIT_RANGE,
  type Runtime, type Model, type LabelledImages, type TrainLogEntry, type FeatureSnapshot, type OptimizerConfig,
} from '../../src/index.js';
import type { App, Panel } from '../app.js';
import { el, paint, slider, scaleFor, messageOf, bump } from '../ui.js';

const DATA = `${import.meta.env.BASE_URL}data`;
const MODELS = `${import.meta.env.BASE_URL}models`;
/** The strongest activations of the evolution strip are searched in the first this many test images. */
const PROBE_IMAGES = 100;
/** Layers of fashionZFNetLayers whose units the strip can follow. */
const EVOLUTION_LAYERS = ['conv1', 'conv2', 'fc1'];

// ---- data and models ----

interface Subsets { train: LabelledImages; test: LabelledImages }

let shipped: Promise<Subsets> | null = null;

/** The shipped Fashion-MNIST subsets (3,000 training, 500 test images), loaded once. */
function shippedSubsets(): Promise<Subsets> {
  shipped ??= Promise.all([labelled('train'), labelled('test')]).then(([train, test]) => ({ train, test }));
  shipped.catch(() => { shipped = null; }); // a failed fetch may be retried
  return shipped;
}

async function labelled(split: 'train' | 'test'): Promise<LabelledImages> {
  const [images, labels] = await Promise.all([
    fetchBytes(`${DATA}/fashion-mnist-${split}-images.idx.gz`), fetchBytes(`${DATA}/fashion-mnist-${split}-labels.idx.gz`),
  ]);
  const set = await loadIdxDataset(images, labels);
  return { images: set.images, labels: set.labels!, count: set.count };
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** The first `count` images of a set (the shipped files are class-balanced in every prefix of 300 per class). */
function firstImages(set: LabelledImages, count: number): LabelledImages {
  const n = Math.min(count, set.count);
  const per = set.images.length / set.count;
  return { images: set.images.subarray(0, n * per), labels: set.labels.subarray(0, n), count: n };
}

type Start = 'scratch' | 'shipped';

async function startingModel(runtime: Runtime, start: Start, seed: number): Promise<Model> {
  if (start === 'scratch') return createModel(runtime, { inputShape: [1, 28, 28], layers: fashionZFNetLayers(seed) });
  const [manifest, weights] = await Promise.all([
    fetch(`${MODELS}/fashion-zfnet.json`).then((r) => { if (!r.ok) throw new Error(`fashion-zfnet.json: HTTP ${r.status}`); return r.json() as Promise<unknown>; }),
    fetchBytes(`${MODELS}/fashion-zfnet.bin`),
  ]);
  return loadSavedModel(runtime, manifest, weights, 'fashion-zfnet.json');
}

// ---- small UI parts ----

/** A promise to await while paused: pause() arms it, resume() settles it. */
function pauseGate() {
  let release: (() => void) | null = null;
  let waiting: Promise<void> | null = null;
  return {
    get paused() { return waiting !== null; },
    pause() { waiting ??= new Promise<void>((resolve) => { release = resolve; }); },
    resume() { release?.(); release = null; waiting = null; },
    wait: (): Promise<void> | undefined => waiting ?? undefined,
  };
}

/** A uPlot line chart of the training log (x: epoch) with a train and a test series; test values are points at epoch ends. */
function logChart(title: string, yLabel: string, testId: string) {
  const root = el('div', { class: 'chart', 'data-testid': testId, 'data-points': 0 });
  const data: [number[], Array<number | null>, Array<number | null>] = [[], [], []];
  const plot = new uPlot({
    title, width: 400, height: 200,
    scales: { x: { time: false } },
    series: [
      { label: 'epoch', value: (_u, v) => (v == null ? '' : v.toFixed(2)) },
      { label: 'train', stroke: '#c0392b', width: 2, value: (_u, v) => (v == null ? '' : v.toFixed(3)) },
      { label: 'test', stroke: '#2471a3', width: 0, spanGaps: true, points: { show: true, size: 8, fill: '#2471a3' }, value: (_u, v) => (v == null ? '' : v.toFixed(3)) },
    ],
    axes: [{ label: 'epoch' }, { label: yLabel }],
    legend: { live: false },
  }, data, root);
  return {
    root,
    clear() { data.forEach((s) => { s.length = 0; }); this.redraw(); },
    /** A training-log point. */
    addTrain(epoch: number, value: number) { data[0].push(epoch); data[1].push(value); data[2].push(null); this.redraw(); },
    /** A test score at `epoch`: on the last point when it is at that epoch, else a point of its own. */
    addTest(epoch: number, value: number) {
      const last = data[0].length - 1;
      if (last >= 0 && Math.abs(data[0][last]! - epoch) < 1e-9) data[2][last] = value;
      else { data[0].push(epoch); data[1].push(null); data[2].push(value); }
      this.redraw();
    },
    redraw() {
      plot.setData(data);
      root.dataset.points = String(data[0].length);
      root.dataset.series = JSON.stringify({ epoch: data[0], train: data[1], test: data[2] });
    },
  };
}

/** "all" or "1, 2, 5" -> epochs within 1..`epochs`. */
function parseEpochs(text: string, epochs: number): number[] {
  if (text.trim() === 'all' || text.trim() === '') return Array.from({ length: epochs }, (_, i) => i + 1);
  return [...new Set(text.split(',').map((s) => Number(s.trim())).filter((e) => Number.isInteger(e) && e >= 1 && e <= epochs))].sort((a, b) => a - b);
}

/** "0-3, 7" -> [0, 1, 2, 3, 7]. */
function parseChannels(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map((s) => Number(s.trim()));
    if (!Number.isInteger(a) || a! < 0) continue;
    const last = Number.isInteger(b) && b! >= a! ? Math.min(b!, a! + 63) : a!;
    for (let c = a!; c <= last; c++) out.add(c);
  }
  return [...out].sort((x, y) => x - y);
}

/** The feature-evolution strip: one row per followed unit, one column per snapshot epoch, growing as snapshots arrive. */
function evolutionStrip() {
  const table = el('table', { class: 'evolution', 'data-testid': 'evolution' });
  const head = el('tr', {}, el('th', {}, 'unit \\ epoch'));
  let rows = new Map<string, HTMLTableRowElement>();
  return {
    root: table,
    reset(features: Array<{ layer: string; channel: number }>) {
      head.replaceChildren(el('th', {}, 'unit \\ epoch'));
      rows = new Map(features.map((f) => [`${f.layer}:${f.channel}`, el('tr', {}, el('th', {}, `${f.layer} #${f.channel}`))]));
      table.replaceChildren(head, ...rows.values());
    },
    add(snapshots: FeatureSnapshot[]) {
      const epoch = snapshots[0]?.epoch;
      if (epoch === undefined) return;
      head.append(el('th', {}, String(epoch)));
      for (const [key, row] of rows) {
        const s = snapshots.find((x) => `${x.layer}:${x.channel}` === key);
        row.append(el('td', {}, s ? snapshotCanvas(s) : ''));
      }
      bump('evolution-columns');
    },
  };
}

function snapshotCanvas(s: FeatureSnapshot): HTMLCanvasElement {
  const canvas = el('canvas', {
    'data-testid': 'evolution-cell', 'data-epoch': s.epoch, 'data-layer': s.layer, 'data-channel': s.channel,
    title: `${s.layer} #${s.channel} after epoch ${s.epoch}: strongest activation ${s.value.toFixed(3)} in test image ${s.imageIndex} at (${s.y}, ${s.x})`,
  });
  const p = s.projection ?? s.patch;
  paint(canvas, projectionToImage(p.data, p.shape), scaleFor(p.shape[2], 56));
  return canvas;
}

function download(name: string, data: BlobPart, type: string): void {
  const a = el('a', { href: URL.createObjectURL(new Blob([data], { type })), download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const percent = (x: number) => `${(100 * x).toFixed(1)}%`;

// ---- the panel ----

export const trainingPanel: Panel = {
  id: 'training',
  title: 'Training (Fig. 4): train the Fashion-MNIST net in the page',
  mount(app: App, root: HTMLElement) {
    const start = el('select', { 'data-testid': 'train-start', 'aria-label': 'Start from' },
      new Option('from scratch (random weights)', 'scratch'), new Option('from the shipped weights (fine-tune)', 'shipped'));
    const optimizer = el('select', { 'data-testid': 'train-optimizer', 'aria-label': 'Optimizer' },
      new Option('Adam', 'adam'), new Option('SGD, momentum 0.9', 'sgd'));
    const epochs = slider('Epochs', 'train-epochs', { min: 1, max: 10, value: 1 });
    const rate = slider('Learning rate', 'train-lr', { min: -4, max: -1, step: 0.1, value: Math.log10(0.002) }, (v) => (10 ** v).toPrecision(2));
    const batch = slider('Batch', 'train-batch', { min: 8, max: 256, step: 8, value: 64 });
    const images = slider('Training images', 'train-images', { min: 100, max: 3000, step: 100, value: 3000 });
    const layerBoxes = EVOLUTION_LAYERS.map((name) => el('input', { type: 'checkbox', value: name, checked: name !== 'fc1', 'data-testid': `evolution-layer-${name}` }));
    const channels = el('input', { type: 'text', value: '0-3', size: 8, 'data-testid': 'evolution-channels', 'aria-label': 'Channels to follow' });
    const snapEpochs = el('input', { type: 'text', value: 'all', size: 10, 'data-testid': 'evolution-epochs', 'aria-label': 'Snapshot epochs' });

    const trainButton = el('button', { type: 'button', 'data-testid': 'train-start-button' }, 'Train');
    const pauseButton = el('button', { type: 'button', 'data-testid': 'train-pause', disabled: true }, 'Pause');
    const stopButton = el('button', { type: 'button', 'data-testid': 'train-stop', disabled: true }, 'Stop');
    const bar = el('progress', { max: 1, value: 0, 'data-testid': 'train-progress' });
    const status = el('span', { class: 'note', 'data-testid': 'train-status' }, 'Not started.');
    const error = el('p', { class: 'error', 'data-testid': 'train-error', role: 'alert' });

    const loss = logChart('Loss (cross-entropy)', 'loss', 'chart-loss');
    const accuracy = logChart('Accuracy', 'accuracy', 'chart-accuracy');
    const epochRows = el('tbody', { 'data-testid': 'train-epochs-table' });
    const strip = evolutionStrip();

    const saveButton = el('button', { type: 'button', 'data-testid': 'train-save', disabled: true }, 'Save model (.json + .bin)');
    const useButton = el('button', { type: 'button', 'data-testid': 'train-use', disabled: true }, 'Use the trained model in the other panels');
    const useNote = el('span', { class: 'note', 'data-testid': 'train-use-note' });

    let model: Model | null = null;
    let summary = { epochsDone: 0, testAccuracy: NaN, start: 'scratch' as Start };
    let controller: AbortController | null = null;
    const gate = pauseGate();

    function setState(state: 'idle' | 'running' | 'paused' | 'done' | 'stopped' | 'error') {
      root.dataset.state = state;
      const running = state === 'running' || state === 'paused';
      trainButton.disabled = running;
      pauseButton.disabled = !running;
      pauseButton.textContent = state === 'paused' ? 'Resume' : 'Pause';
      stopButton.disabled = !running;
      saveButton.disabled = running || !model;
      useButton.disabled = running || !model;
    }

    /** Frees the previous run's model unless the page shows or lists it. */
    function dropModel() {
      if (model && !app.nets.some((n) => n.model === model)) model.destroy();
      model = null;
    }

    async function run() {
      error.textContent = '';
      useNote.textContent = '';
      dropModel();
      controller = new AbortController();
      const signal = controller.signal;
      const chosen = { start: start.value as Start, epochs: epochs.value, batch: batch.value, lr: 10 ** rate.value, images: images.value };
      loss.clear();
      accuracy.clear();
      epochRows.replaceChildren();
      bar.value = 0;
      root.dataset.steps = '0';
      setState('running');
      status.textContent = 'Loading the data and the model…';
      const t0 = performance.now();
      try {
        const sets = await shippedSubsets();
        model = await startingModel(app.runtime, chosen.start, 1);
        summary = { epochsDone: 0, testAccuracy: NaN, start: chosen.start };
        const trainSet = firstImages(sets.train, chosen.images);
        const features = followedUnits(model);
        strip.reset(features);

        const before = await evaluate(model, sets.test, { signal });
        loss.addTest(0, before.loss);
        accuracy.addTest(0, before.accuracy);
        addEpochRow(0, null, before, 0);

        const stepsPerEpoch = Math.ceil(trainSet.count / chosen.batch);
        const opt: OptimizerConfig = optimizer.value === 'sgd'
          ? { kind: 'sgd', learningRate: chosen.lr, momentum: 0.9 }
          : { kind: 'adam', learningRate: chosen.lr };
        const trainStart = performance.now();
        let epochStart = trainStart;
        let lastLog: TrainLogEntry | null = null;
        await train(model, trainSet, {
          epochs: chosen.epochs, batchSize: chosen.batch, optimizer: opt, seed: 1,
          logEvery: Math.max(1, Math.round(stepsPerEpoch / 12)),
          signal,
          pause: gate.wait,
          snapshots: features.length > 0
            ? { epochs: parseEpochs(snapEpochs.value, chosen.epochs), probe: { images: sets.test.images.subarray(0, PROBE_IMAGES * 784), count: PROBE_IMAGES }, features }
            : undefined,
          onSnapshot: (snaps) => strip.add(snaps),
          onProgress: ({ done, total }) => {
            bar.value = done / total;
            root.dataset.steps = String(done);
            const epoch = Math.min(chosen.epochs, Math.floor(done / stepsPerEpoch) + 1);
            const perStep = (performance.now() - trainStart) / Math.max(1, done);
            status.textContent = `Epoch ${epoch}/${chosen.epochs}, step ${done}/${total} `
              + `(${perStep.toFixed(0)} ms per step${lastLog ? `, loss ${lastLog.loss.toFixed(3)}` : ''})`;
          },
          onLog: (entry) => {
            lastLog = entry;
            loss.addTrain(entry.epoch, entry.loss);
            accuracy.addTrain(entry.epoch, entry.accuracy);
            bump('train-logs');
          },
          onEpoch: async (epoch) => {
            const trained = performance.now() - epochStart;
            const test = await evaluate(model!, sets.test, { signal });
            loss.addTest(epoch, test.loss);
            accuracy.addTest(epoch, test.accuracy);
            addEpochRow(epoch, lastLog, test, trained);
            summary.epochsDone = epoch;
            summary.testAccuracy = test.accuracy;
            epochStart = performance.now();
          },
        });
        status.textContent = `Done: ${chosen.epochs} epoch${chosen.epochs > 1 ? 's' : ''} on ${trainSet.count} images in ${seconds(performance.now() - t0)}; `
          + `test accuracy ${percent(summary.testAccuracy)} on ${sets.test.count} test images.`;
        setState('done');
      } catch (e) {
        if (e instanceof DOMException && e.name === 'AbortError') {
          status.textContent = `Stopped after ${root.dataset.steps} steps (${summary.epochsDone} full epoch${summary.epochsDone === 1 ? '' : 's'}); `
            + 'the model keeps the weights it had, and can be saved or used.';
          setState('stopped');
        } else {
          error.textContent = `Training failed: ${messageOf(e)}`;
          status.textContent = '';
          setState('error');
        }
      } finally {
        gate.resume();
        controller = null;
        bump('train-runs');
      }
    }

    /** The units the strip follows: the chosen channels of each ticked layer that has them. */
    function followedUnits(m: Model): Array<{ layer: string; channel: number }> {
      const wanted = parseChannels(channels.value);
      return layerBoxes.filter((b) => b.checked).flatMap((b) => {
        const size = m.info.find((i) => i.name === b.value)?.outputShape[0] ?? 0;
        return wanted.filter((c) => c < size).map((channel) => ({ layer: b.value, channel }));
      });
    }

    function addEpochRow(epoch: number, last: TrainLogEntry | null, test: { loss: number; accuracy: number }, ms: number) {
      epochRows.append(el('tr', { 'data-epoch': epoch },
        el('td', {}, epoch === 0 ? 'start' : String(epoch)),
        el('td', {}, last ? last.loss.toFixed(3) : ''), el('td', {}, last ? percent(last.accuracy) : ''),
        el('td', {}, test.loss.toFixed(3)), el('td', {}, percent(test.accuracy)),
        el('td', {}, epoch === 0 ? '' : seconds(ms))));
    }

    async function save() {
      if (!model) return;
      const { manifest, weights } = await saveModel(model, {
        classes: FASHION_MNIST_CLASSES, epochsDone: summary.epochsDone, testAccuracy: summary.testAccuracy,
        trainedIn: 'the demo page', start: summary.start, data: 'Fashion-MNIST subset (Zalando Research, MIT licence)',
      });
      download('fashion-trained.json', JSON.stringify(manifest, null, 1), 'application/json');
      download('fashion-trained.bin', weights as BlobPart, 'application/octet-stream');
      bump('train-saves');
    }

    async function use() {
      if (!model) return;
      const listed = app.nets.find((n) => n.model === model);
      const replaced = app.nets.find((n) => n.id === 'trained' && n.model !== model)?.model;
      const fashion = app.nets.find((n) => n.id === 'fashion');
      const done = summary.epochsDone;
      const net = listed ?? app.addNet({
        id: 'trained',
        title: done > 0
          ? `Trained in the page (${done} epoch${done === 1 ? '' : 's'}, ${percent(summary.testAccuracy)} test)`
          : `Trained in the page (stopped after ${root.dataset.steps} steps)`,
        model,
        classes: fashion?.classes ?? FASHION_MNIST_CLASSES,
        preprocessing: fashion?.preprocessing ?? UNIT_RANGE,
        samples: fashion?.samples ?? [],
        credit: 'Trained in this page on a Fashion-MNIST subset (Zalando Research, MIT licence).',
        builtIn: false,
      });
      await app.setNet(net);
      // The model of an earlier run that this one replaced in the picker is no longer shown anywhere.
      if (replaced && !app.nets.some((n) => n.model === replaced)) replaced.destroy();
      useNote.textContent = `The page now shows "${net.title}".`;
    }

    trainButton.addEventListener('click', () => void run());
    pauseButton.addEventListener('click', () => {
      if (gate.paused) { gate.resume(); setState('running'); } else { gate.pause(); setState('paused'); status.textContent = `Paused after step ${root.dataset.steps}.`; }
    });
    stopButton.addEventListener('click', () => { controller?.abort(); gate.resume(); });
    saveButton.addEventListener('click', () => { save().catch((e: unknown) => { error.textContent = `Could not save: ${messageOf(e)}`; }); });
    useButton.addEventListener('click', () => { use().catch((e: unknown) => { error.textContent = `Could not use the model: ${messageOf(e)}`; }); });
    setState('idle');

    root.append(
      el('p', { class: 'note' }, 'Trains the Fashion-MNIST architecture (conv 5x5, pool, conv 3x3, pool, dense 64, dense 10) on WebGPU in this page, '
        + 'on the first images of a 3,000-image class-balanced subset shipped with the page, and scores it on 500 test images after every epoch. '
        + 'The strip follows the chosen units: after each snapshot epoch, the DeconvNet projection of their strongest activation '
        + `over the first ${PROBE_IMAGES} test images, as in the paper's Fig. 4.`),
      el('div', { class: 'row controls' }, el('label', {}, 'Start ', start), el('label', {}, 'Optimizer ', optimizer)),
      el('div', { class: 'row controls' }, epochs.root, rate.root, batch.root, images.root),
      el('div', { class: 'row controls' }, el('span', { class: 'note' }, 'Follow layers'),
        ...layerBoxes.map((b) => el('label', {}, b, ` ${b.value}`)),
        el('label', {}, 'channels ', channels), el('label', {}, 'after epochs ', snapEpochs)),
      el('div', { class: 'progress' }, trainButton, pauseButton, stopButton, bar, status),
      error,
      el('div', { class: 'training-charts' }, loss.root, accuracy.root),
      el('table', { class: 'epochs' },
        el('thead', {}, el('tr', {}, ...['epoch', 'train loss', 'train acc.', 'test loss', 'test acc.', 'time'].map((h) => el('th', {}, h)))),
        epochRows),
      el('h3', {}, 'Feature evolution'),
      strip.root,
      el('div', { class: 'row controls' }, saveButton, useButton, useNote),
    );
  },
};
