// Class names from files people have (text, JSON array/object, Keras's
// imagenet_class_index.json), the top-k of an output, and what a model file
// says about itself (ONNX metadata_props, TF.js userDefinedMetadata, our
// manifest's metadata) as loadModel returns it.
import { describe, expect, it } from 'vitest';
import { onnx } from 'onnx-proto';
import { IMAGENET_CLASSES } from '@tensorflow-models/mobilenet/dist/imagenet_classes.js';
import {
  parseClassNames, topClasses, isProbabilityVector, parsePreprocessing, modelHints, onnxMetadataProps,
  loadModel, saveModel, createModel, Conv2D, Flatten, Dense, FormatError, IMAGENET_PREPROCESSING,
} from '../src/index.js';
import { getRuntime } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { initTf, tfl, saveTfjs } from './helpers/tfjs_models.js';

const imagenet = Array.from({ length: 1000 }, (_, i) => IMAGENET_CLASSES[i]!);

describe('parseClassNames', () => {
  it('reads ImageNet names as text, a JSON array, an index object and Keras [wnid, name] pairs', () => {
    expect(imagenet[0]).toBe('tench, Tinca tinca');
    expect(parseClassNames(imagenet.join('\n'))).toEqual(imagenet);
    expect(parseClassNames(`\uFEFF${imagenet.join('\r\n')}\r\n\r\n`)).toEqual(imagenet); // BOM, CRLF, trailing blank lines
    expect(parseClassNames(JSON.stringify(imagenet))).toEqual(imagenet);
    expect(parseClassNames(JSON.stringify(IMAGENET_CLASSES))).toEqual(imagenet);
    const keras = Object.fromEntries(imagenet.map((name, i) => [String(i), [`n${String(i).padStart(8, '0')}`, name]]));
    expect(parseClassNames(JSON.stringify(keras))).toEqual(imagenet);
    expect(parseClassNames(' koala \n red panda')).toEqual(['koala', 'red panda']);
  });

  it('bad input: a FormatError naming the file and what is wrong', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /names.txt: the file is empty/],
      ['  \n \n', /the file is empty/],
      ['koala\n\nred panda', /line 2 is blank/],
      ['["koala", 3]', /entry 1 is 3/],
      ['["koala", ""]', /entry 1 is ""/],
      ['[]', /list of class names is empty/],
      ['{"0": "koala", "2": "panda"}', /key "2" is not a class index 0..1/],
      ['{"a": "koala"}', /key "a"/],
      ['{"0": "koala", ', /not valid JSON/],
      ['[null]', /entry 0 is null/],
    ];
    for (const [text, message] of cases) {
      let error: unknown;
      try { parseClassNames(text, 'names.txt'); } catch (e) { error = e; }
      expect(error, text).toBeInstanceOf(FormatError);
      expect((error as Error).message, text).toMatch(message);
      expect((error as Error).message).toContain('names.txt');
    }
  });
});

describe('topClasses', () => {
  it('equals a full sort on random vectors, ties by index, NaN never ranked', () => {
    const rand = makeRandom(11);
    for (let trial = 0; trial < 20; trial++) {
      const scores = rand.array(1 + trial * 7, -3, 3);
      const reference = Array.from(scores, (score, index) => ({ index, score })).sort((a, b) => b.score - a.score).slice(0, 5);
      expect(topClasses(scores, 5)).toEqual(reference);
    }
    expect(topClasses([0.2, 0.5, 0.5, NaN, 0.1], 3)).toEqual([{ index: 1, score: 0.5 }, { index: 2, score: 0.5 }, { index: 0, score: 0.2 }]);
    expect(topClasses([1, 2], 5).length).toBe(2);
  });

  it('isProbabilityVector: in [0, 1] and summing to 1', () => {
    expect(isProbabilityVector([0.25, 0.25, 0.5])).toBe(true);
    expect(isProbabilityVector([0.5, 0.6])).toBe(false);
    expect(isProbabilityVector([1.5, -0.5])).toBe(false);
    expect(isProbabilityVector([NaN, 1])).toBe(false);
    expect(isProbabilityVector([])).toBe(false);
  });
});

describe('model metadata', () => {
  it('parsePreprocessing and modelHints: objects or JSON text, typed errors for bad values', () => {
    expect(parsePreprocessing(JSON.stringify(IMAGENET_PREPROCESSING), 'p')).toEqual(IMAGENET_PREPROCESSING);
    expect(parsePreprocessing({ scale: 255, mean: 127.5, std: 127.5, channel_order: 'BGR' }, 'p'))
      .toEqual({ scale: 255, mean: [127.5], std: [127.5], channelOrder: 'bgr' });
    expect(parsePreprocessing({}, 'p')).toEqual({ scale: 1, mean: [0], std: [1], channelOrder: 'rgb' });
    for (const [bad, message] of [[{ scale: 2 }, /scale is 2/], [{ mean: ['a'] }, /mean is/], [{ std: [1, 0, 1] }, /std has a zero/],
      [{ channelOrder: 'rbg' }, /channelOrder is "rbg"/], ['{', /not valid JSON/], [[1], /expected an object/]] as const) {
      expect(() => parsePreprocessing(bad, 'net.onnx: metadata "preprocessing"')).toThrow(FormatError);
      expect(() => parsePreprocessing(bad, 'p')).toThrow(message);
    }
    expect(modelHints({ labels: 'cat\ndog' }, 'm')).toEqual({ classNames: ['cat', 'dog'] });
    expect(modelHints({ class_names: '["cat", "dog"]', preprocessing: '{"scale": 255}' }, 'm'))
      .toEqual({ classNames: ['cat', 'dog'], preprocessing: { scale: 255, mean: [0], std: [1], channelOrder: 'rgb' } });
    expect(modelHints({ author: 'x' }, 'm')).toEqual({});
    expect(() => modelHints({ classes: [1, 2] }, 'net.json')).toThrow(/net.json: metadata "classes": entry 0 is 1/);
  });

  it('onnxMetadataProps reads ModelProto.metadata_props as onnx-proto encodes them; garbage gives {}', () => {
    const bytes = tinyOnnx({ class_names: 'a\nb', preprocessing: '{"scale": 255}', author: 'test' });
    expect(onnxMetadataProps(bytes)).toEqual({ class_names: 'a\nb', preprocessing: '{"scale": 255}', author: 'test' });
    expect(onnxMetadataProps(bytes.subarray(0, 7))).toEqual({});
    expect(onnxMetadataProps(new Uint8Array([0xff, 0xff, 0xff]))).toEqual({});
  });

  it('loadModel returns class names and preprocessing from ONNX, TF.js and our manifest; options win; bad metadata is a FormatError', async () => {
    const rt = await getRuntime();
    const onnxLoaded = await loadModel(rt, tinyOnnx({ class_names: '["a", "b"]', preprocessing: JSON.stringify(IMAGENET_PREPROCESSING) }));
    expect([onnxLoaded.format, onnxLoaded.classNames, onnxLoaded.preprocessing]).toEqual(['onnx', ['a', 'b'], IMAGENET_PREPROCESSING]);
    onnxLoaded.model.destroy();
    const plain = await loadModel(rt, tinyOnnx({}));
    expect([plain.classNames, plain.preprocessing]).toEqual([undefined, undefined]);
    plain.model.destroy();
    const given = await loadModel(rt, tinyOnnx({ class_names: 'a\nb' }), { classNames: ['x', 'y'], preprocessing: IMAGENET_PREPROCESSING });
    expect([given.classNames, given.preprocessing]).toEqual([['x', 'y'], IMAGENET_PREPROCESSING]);
    given.model.destroy();
    await expect(loadModel(rt, tinyOnnx({ preprocessing: '{"scale": 3}' }))).rejects.toThrow(/model: metadata "preprocessing": scale is 3/);

    await initTf();
    const keras = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [2, 2, 1] }), tfl.layers.dense({ units: 2 })] });
    const saved = await saveTfjs(keras);
    const json = { ...JSON.parse(saved.json), userDefinedMetadata: { classNames: ['cat', 'dog'] } };
    const files = [new File([JSON.stringify(json)], 'model.json'), ...saved.paths.map((p) => new File([saved.shards.get(p)!], p))];
    const tfjs = await loadModel(rt, files);
    expect([tfjs.format, tfjs.classNames, tfjs.preprocessing]).toEqual(['tfjs-layers', ['cat', 'dog'], undefined]);
    tfjs.model.destroy();

    const ours = createModel(rt, { inputShape: [1, 4, 4], layers: [new Conv2D({ filters: 2, kernelSize: 3 }), new Flatten(), new Dense({ units: 3 })] });
    const { manifest, weights } = await saveModel(ours, { classes: ['x', 'y', 'z'], preprocessing: { scale: 255 } });
    ours.destroy();
    const back = await loadModel(rt, [new File([JSON.stringify(manifest)], 'net.json'), new File([weights as BlobPart], 'net.bin')]);
    expect([back.format, back.classNames, back.preprocessing]).toEqual(['deconvnet-webgpu', ['x', 'y', 'z'], { scale: 255, mean: [0], std: [1], channelOrder: 'rgb' }]);
    back.model.destroy();
  });
});

/** A 1x2x2 -> Relu ONNX model with the given metadata_props. */
function tinyOnnx(props: Record<string, string>): Uint8Array {
  const info = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [1, 1, 2, 2].map((d) => ({ dimValue: d })) } } } });
  return onnx.ModelProto.encode({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    metadataProps: Object.entries(props).map(([key, value]) => ({ key, value })),
    graph: { name: 'tiny', node: [{ opType: 'Relu', name: 'relu', input: ['x'], output: ['y'] }], input: [info('x')], output: [info('y')] },
  }).finish();
}
