// The ONNX backend test cases of ../shared/onnx-conformance (see its README),
// imported with the library's ONNX importer, run on the GPU and compared with the expected
// outputs PyTorch computed. Reading the cases needs the onnxListCases /
// onnxReadCase browser commands of test/onnx/commands.ts.
import { describe, expect, it } from 'vitest';
import { commands } from 'vitest/browser';
import { getRuntime } from './helpers/gpu.js';
import { loadCase } from './onnx/load.js';
import { runOnnxCase, compareOutput } from './onnx/case.js';

type Coverage = 'run' | { notCovered: string };

/** Every case folder: 'run' compares the GPU result, notCovered says why it is not run. */
const CASES: Record<string, Coverage> = {
  'pytorch-converted/test_AvgPool2d': 'run',
  'pytorch-converted/test_AvgPool2d_stride': 'run',
  'pytorch-converted/test_BatchNorm2d_eval': 'run',
  'pytorch-converted/test_BatchNorm2d_momentum_eval': 'run',
  'pytorch-converted/test_ConstantPad2d': 'run',
  'pytorch-converted/test_Conv2d': 'run',
  'pytorch-converted/test_Conv2d_depthwise': 'run',
  'pytorch-converted/test_Conv2d_depthwise_padded': 'run',
  'pytorch-converted/test_Conv2d_depthwise_strided': 'run',
  'pytorch-converted/test_Conv2d_depthwise_with_multiplier': 'run',
  'pytorch-converted/test_Conv2d_dilated': 'run',
  'pytorch-converted/test_Conv2d_groups': 'run',
  'pytorch-converted/test_Conv2d_groups_thnn': 'run',
  'pytorch-converted/test_Conv2d_no_bias': 'run',
  'pytorch-converted/test_Conv2d_padding': 'run',
  'pytorch-converted/test_Conv2d_strided': 'run',
  'pytorch-converted/test_ConvTranspose2d': 'run',
  'pytorch-converted/test_ConvTranspose2d_no_bias': 'run',
  'pytorch-converted/test_ELU': 'run',
  'pytorch-converted/test_LeakyReLU': 'run',
  'pytorch-converted/test_LeakyReLU_with_negval': 'run',
  'pytorch-converted/test_Linear': 'run',
  'pytorch-converted/test_Linear_no_bias': 'run',
  'pytorch-converted/test_LogSoftmax': 'run',
  'pytorch-converted/test_MaxPool2d': 'run',
  'pytorch-converted/test_MaxPool2d_stride_padding_dilation': 'run',
  'pytorch-converted/test_PReLU_2d': 'run',
  'pytorch-converted/test_PReLU_2d_multiparam': 'run',
  'pytorch-converted/test_ReLU': 'run',
  'pytorch-converted/test_Sigmoid': 'run',
  'pytorch-converted/test_Softmax': 'run',
  'pytorch-converted/test_Tanh': 'run',
  'pytorch-converted/test_ZeroPad2d': 'run',
  'pytorch-converted/test_log_softmax_lastdim': 'run',
  'pytorch-converted/test_softmax_lastdim': 'run',
  'pytorch-operator/test_operator_addmm': 'run',
  'pytorch-operator/test_operator_clip': 'run',
  'pytorch-operator/test_operator_concat2': 'run',
  'pytorch-operator/test_operator_conv': 'run',
  'pytorch-operator/test_operator_convtranspose': 'run',
  'pytorch-operator/test_operator_flatten': 'run',
  'pytorch-operator/test_operator_mm': 'run',
  'pytorch-operator/test_operator_pad': 'run',
  'pytorch-operator/test_operator_view': 'run',
};

if (typeof commands.onnxListCases !== 'function') {
  throw new Error('the onnxListCases browser command is missing: register onnxCommands (test/onnx/commands.ts) in vitest.config.ts');
}
const available = await commands.onnxListCases();
if (!available) console.info('ONNX conformance: ../shared/onnx-conformance is absent, skipping these tests');

describe.skipIf(!available)('ONNX conformance', () => {
  it('lists every case folder in the table', () => {
    expect([...available!].sort()).toEqual(Object.keys(CASES).sort());
  });

  for (const [name, coverage] of Object.entries(CASES)) {
    if (coverage !== 'run') {
      it.skip(`${name} (not covered: ${coverage.notCovered})`, () => {});
      continue;
    }
    it(name, async () => {
      const rt = await getRuntime();
      const c = await loadCase(name);
      const outputs = await runOnnxCase(rt, c.model, c.inputs, name);
      expect(outputs.length, 'number of outputs').toBe(c.outputs.length);
      outputs.forEach((out, i) => {
        const r = compareOutput(out, c.outputs[i]!, `${name} output ${i} (${out.name})`);
        expect(r.worstRatio, r.message).toBeLessThanOrEqual(1);
      });
      // A second run reuses the pooled buffers of the first: anything not
      // given back (weights, activations, switches) would show as growth.
      const before = rt.bytesHeld;
      await runOnnxCase(rt, c.model, c.inputs, name);
      expect(rt.bytesHeld, 'GPU bytes held after a second import + forward + destroy').toBe(before);
    });
  }
});
