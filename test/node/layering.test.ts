// The library's layers point one way (scripts/layering.ts): shaders ->
// src/gpu -> src/ops -> src/layers -> src/model -> src/deconv -> analysis,
// train, io, render; src/util and src/data below every layer that uses them.
import { describe, expect, it } from 'vitest';
import { importSpecifiers, layerOf, layeringViolations, librarySources, REPO_ROOT } from '../../scripts/layering.js';

describe('layering', () => {
  it('no file under shaders/ or src/ imports a layer above its own', () => {
    const files = librarySources(REPO_ROOT);
    expect(files.length).toBeGreaterThan(100);
    expect(files.some((f) => f.path === 'src/gpu/tuning.ts')).toBe(true);
    expect(layeringViolations(files)).toEqual([]);
  });

  it('finds upward imports of every form: static, type-only, re-export, dynamic, multi-line', () => {
    const files = [
      { path: 'src/gpu/tuning.ts', text: "const { createDeconvNet } = await import('../deconv/deconvnet.js');" },
      { path: 'shaders/conv2d.ts', text: "import type { Recorder } from '../src/gpu/recorder.js';" },
      { path: 'src/ops/image_input.ts', text: "import {\n  channelStats,\n  UNIT_RANGE,\n} from '../model/preprocessing.js';" },
      { path: 'src/util/progress.ts', text: "export { ShapeError } from '../gpu/errors.js';" },
      { path: 'src/layers/conv2d.ts', text: "import '../analysis/occlusion.js';" },
      { path: 'src/model/model.ts', text: "import { x } from '../../demo/ui.js';" },
    ];
    const found = layeringViolations(files);
    expect(found.map((v) => v.file)).toEqual(files.map((f) => f.path));
    expect(found[0]!.reason).toBe('src/gpu (rank 2) imports src/deconv (rank 7) above it');
    expect(found[5]!.reason).toContain('outside the library');
  });

  it('allows downward, same-layer, same-rank and package imports', () => {
    const files = [
      { path: 'src/deconv/tune_model.ts', text: "import { tuneKernels } from '../gpu/tuning.js';\nimport { createDeconvNet } from './deconvnet.js';" },
      { path: 'src/model/import/onnx.ts', text: "import { Conv2D } from '../../layers/conv2d.js';\nimport type { Model } from '../model.js';" },
      { path: 'src/train/trainer.ts', text: "import { topActivations } from '../analysis/topk.js';\nimport { throwIfAborted } from '../util/progress.js';" },
      { path: 'src/io/gpu_output.ts', text: "import { HEAT_COLORMAPS } from '../render/image.js';\nimport { drawShader } from '../../shaders/draw.js';" },
      { path: 'shaders/matmul.ts', text: "import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';" },
      { path: 'src/index.ts', text: "export * from './gpu/errors.js';\nexport { train } from './train/trainer.js';" },
    ];
    expect(layeringViolations(files)).toEqual([]);
    expect(importSpecifiers(files[1]!.text)).toEqual(['../../layers/conv2d.js', '../model.js']);
    expect(layerOf('src/model/import/onnx.ts')).toBe('src/model');
    expect(layerOf('demo/ui.ts')).toBeNull();
  });
});
