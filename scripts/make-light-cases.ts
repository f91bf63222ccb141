// npx tsx scripts/make-light-cases.ts DIR [name ...]
//
// Writes whole ImageNet-sized ONNX cases whose weights are made inside the
// graph, as the model zoo's "light" files are (see test/onnx/light.ts):
// AlexNet (bvlc_alexnet, with LRN), VGG-19 and ZFNet-512 at 224 x 224, each
// with ConstantOfShape weights (<name>_constant) and with the use_range chain
// (<name>_range). Nothing is downloaded and no Python is needed: the graph is
// written with onnx-proto, and the expected outputs (the last Gemm's logits
// and the softmax) come from the float64 evaluation in test/onnx/light.ts.
// The folders have the layout of the ONNX backend cases, for
// `npm run conformance -- DIR`:
//
//     DIR/<name>/model.onnx
//     DIR/<name>/test_data_set_0/input_0.pb, output_0.pb (logits), output_1.pb (prob)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARCHITECTURES, lightInput, lightModel, lightReference, tensorBytes, type Architecture, type WeightStyle } from '../test/onnx/light.js';

const STYLES: WeightStyle[] = ['constant', 'range'];
const INPUT = [3, 224, 224];

function make(dir: string, arch: Architecture, style: WeightStyle): void {
  const started = performance.now();
  const layers = ARCHITECTURES[arch];
  const model = lightModel(layers, style, INPUT);
  const x = lightInput(INPUT.reduce((a, b) => a * b, 1), 1);
  const { logits, prob } = lightReference(layers, style, x, INPUT);
  const name = `${arch}_${style}`;
  const data = join(dir, name, 'test_data_set_0');
  mkdirSync(data, { recursive: true });
  writeFileSync(join(dir, name, 'model.onnx'), model.bytes);
  writeFileSync(join(data, 'input_0.pb'), tensorBytes('data', [1, ...INPUT], x));
  writeFileSync(join(data, 'output_0.pb'), tensorBytes('logits', [1, logits.length], logits));
  writeFileSync(join(data, 'output_1.pb'), tensorBytes('prob', [1, prob.length], prob));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`${name}: ${join(dir, name)} (model.onnx ${model.bytes.length} bytes, reference in ${seconds} s)`);
}

function main(): void {
  const [dir, ...names] = process.argv.slice(2);
  if (!dir) {
    console.error(`usage: npx tsx scripts/make-light-cases.ts DIR [${Object.keys(ARCHITECTURES).join('|')} ...]`);
    process.exit(2);
  }
  const archs = (names.length ? names : Object.keys(ARCHITECTURES)) as Architecture[];
  for (const arch of archs) {
    if (!(arch in ARCHITECTURES)) {
      console.error(`unknown architecture ${arch}; choose from ${Object.keys(ARCHITECTURES).join(', ')}`);
      process.exit(2);
    }
    for (const style of STYLES) make(dir, arch, style);
  }
}

main();
