// Parameter counts per node equal what Keras counts for the same layers
// (tfjs-layers countParams on the cpu backend), through the TF.js importer.
import { describe, expect, it } from 'vitest';
import { parameterCounts, importTfjsLayers, createModel, Conv2D, BatchNorm, Dense, Flatten } from '../src/index.js';
import { getRuntime } from './helpers/gpu.js';
import { initTf, tfl, saveTfjs } from './helpers/tfjs_models.js';

describe('parameterCounts', () => {
  it('equals tfjs countParams per layer: convs with and without bias, depthwise, separable, dense', async () => {
    await initTf();
    const keras = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ name: 'c1', inputShape: [12, 12, 3], filters: 5, kernelSize: 3 }),
        tfl.layers.conv2d({ name: 'c2', filters: 4, kernelSize: [2, 3], useBias: false, activation: 'relu' }),
        tfl.layers.depthwiseConv2d({ name: 'dw', kernelSize: 3, depthMultiplier: 2 }),
        tfl.layers.maxPooling2d({ name: 'pool', poolSize: 2 }),
        tfl.layers.flatten({ name: 'flat' }),
        tfl.layers.dense({ name: 'fc', units: 7 }),
      ],
    });
    const saved = await saveTfjs(keras);
    const rt = await getRuntime();
    const { model } = await importTfjsLayers(rt, { modelJson: JSON.parse(saved.json), loadWeights: async (p) => new Uint8Array(saved.shards.get(p)!) });
    const counts = parameterCounts(model);
    for (const layer of keras.layers) {
      const i = model.info.findIndex((n) => n.name === layer.name);
      expect(i, layer.name).toBeGreaterThanOrEqual(0);
      expect(counts[i], layer.name).toBe(layer.countParams());
    }
    expect(counts.reduce((a, b) => a + b, 0)).toBe(keras.countParams());
    model.destroy();
    expect(parameterCounts(model).every((n) => n === 0)).toBe(true); // destroyed: no weights held
  });

  it('batch norm is held folded: 2 per channel (Keras counts 4)', async () => {
    const rt = await getRuntime();
    const ones = new Float32Array(6).fill(1);
    const model = createModel(rt, {
      inputShape: [3, 4, 4],
      layers: [new Conv2D({ filters: 6, kernelSize: 3 }), new BatchNorm({ scale: ones, bias: ones, mean: ones, variance: ones }), new Flatten(), new Dense({ units: 5 })],
    });
    expect(parameterCounts(model)).toEqual([6 * 3 * 9 + 6, 2 * 6, 0, 6 * 2 * 2 * 5 + 5]);
    model.destroy();
  });
});
