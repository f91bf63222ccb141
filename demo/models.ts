// The models built into the page: Tiny VGG on natural images (CNN Explainer's,
// the default) and the Fashion-MNIST net trained here. Both load from files
// shipped in demo/public/models/; nothing is fetched from elsewhere.
import {
  loadModel, loadSavedModel, createDefaultModel, UNIT_RANGE, type Runtime, type ModelManifest,
} from '../src/index.js';
import type { App, Net, Sample } from './app.js';
import fashionSamples from './samples/fashion-mnist-samples.json';

const BASE = `${import.meta.env.BASE_URL}models`;

/** Tiny VGG's classes, in the order of its outputs (its README). */
export const TINY_VGG_CLASSES = [
  'lifeboat', 'ladybug', 'pizza', 'bell pepper', 'school bus', 'koala', 'espresso', 'red panda', 'orange', 'sport car',
];

/** The word a sample's file name starts with, to its class. */
const SAMPLE_WORDS: Record<string, number> = {
  boat: 0, bug: 1, pizza: 2, pepper: 3, bus: 4, koala: 5, espresso: 6, panda: 7, orange: 8, car: 9,
};

const TINY_VGG_SAMPLES = [
  'boat_1', 'bug_1', 'bug_3', 'bus_1', 'bus_2', 'car_1', 'espresso_1', 'koala_1', 'koala_2', 'koala_3',
  'orange_1', 'orange_3', 'panda_1', 'panda_2', 'panda_3', 'panda_5', 'pepper_1', 'pepper_2', 'pizza_1', 'pizza_2',
];

const TINY_VGG_CREDIT = 'Tiny VGG and its sample photos: CNN Explainer, Polo Club of Data Science (Georgia Tech), MIT licence.';

/** Loads both built-in models into the picker and shows Tiny VGG. */
export async function showBuiltInModels(app: App): Promise<void> {
  const [tiny, fashion] = await Promise.all([tinyVgg(app.runtime), fashionNet(app.runtime)]);
  const shown = app.addNet(tiny);
  app.addNet(fashion);
  await app.setNet(shown);
}

async function tinyVgg(runtime: Runtime): Promise<Omit<Net, 'deconv'>> {
  const { model } = await loadModel(runtime, `${BASE}/tiny-vgg/model.json`);
  const samples: Sample[] = TINY_VGG_SAMPLES.map((name) => ({
    name: `${name}.jpeg`,
    url: `${BASE}/tiny-vgg/samples/${name}.jpeg`,
    label: SAMPLE_WORDS[name.split('_')[0]!],
  }));
  return {
    id: 'tiny-vgg', title: 'Tiny VGG (natural images, 64x64)', model, classes: TINY_VGG_CLASSES,
    preprocessing: UNIT_RANGE, samples, credit: TINY_VGG_CREDIT, builtIn: true,
  };
}

/**
 * The Fashion-MNIST net trained by `npm run train`, or, where its files are
 * missing, the untrained Gabor net, labelled as such.
 */
async function fashionNet(runtime: Runtime): Promise<Omit<Net, 'deconv'>> {
  const base = `${BASE}/fashion-zfnet`;
  const [manifest, weights] = await Promise.all([
    fetch(`${base}.json`).then((r) => (r.ok ? r.json() as Promise<ModelManifest> : null)).catch(() => null),
    fetch(`${base}.bin`).then((r) => (r.ok ? r.arrayBuffer() : null)).catch(() => null),
  ]);
  const samples = fashionSampleImages();
  if (!manifest || !weights) {
    const fallback = createDefaultModel(runtime);
    return {
      id: 'fashion', title: 'Fashion-MNIST net (untrained)', model: fallback.model, classes: fallback.classes,
      preprocessing: UNIT_RANGE, samples, credit: fallback.description, builtIn: true,
    };
  }
  const meta = manifest.metadata as { classes: string[]; testAccuracy: number; epochsDone: number };
  return {
    id: 'fashion', title: 'Fashion-MNIST net (28x28 grey)',
    model: loadSavedModel(runtime, manifest, new Uint8Array(weights), `${base}.json`),
    classes: meta.classes, preprocessing: UNIT_RANGE, samples, builtIn: true,
    credit: `Trained here by npm run train (${meta.epochsDone} epochs, ${(100 * meta.testAccuracy).toFixed(1)}% on the 10,000 test images); `
      + 'Fashion-MNIST by Zalando Research, MIT licence.',
  };
}

/** The 20 Fashion-MNIST test images shipped with the page, as grey RGBA pixels. */
function fashionSampleImages(): Sample[] {
  const { width, height } = fashionSamples;
  return fashionSamples.samples.map((s) => {
    const rgba = new ImageData(width, height);
    const grey = atob(s.pixels);
    for (let i = 0; i < width * height; i++) {
      const v = grey.charCodeAt(i);
      rgba.data.set([v, v, v, 255], i * 4);
    }
    return { name: `test image ${s.index}`, rgba, label: s.label };
  });
}
