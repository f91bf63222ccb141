// The conv workloads on ONNX Runtime Web with the WebGPU execution provider:
// the same weights written into an ONNX ModelProto (Conv / Relu / MaxPool
// nodes, weights as initializers) built here with onnx-proto. ORT's files
// (the .mjs bundle and its .wasm) are served by the Vite dev server from
// node_modules: nothing is fetched from the network.
import { onnx } from 'onnx-proto';
import type * as Ort from 'onnxruntime-web';
import type { ConvWeights, Vgg16 } from './nets.js';

const ORT_DIST = '/node_modules/onnxruntime-web/dist/';

let ortModule: typeof Ort | null = null;

export async function initOrt(): Promise<{ version: string }> {
  const url = `${ORT_DIST}ort.webgpu.bundle.min.mjs`;
  ortModule = (await import(/* @vite-ignore */ url)) as typeof Ort;
  ortModule.env.wasm.wasmPaths = ORT_DIST;
  ortModule.env.wasm.numThreads = 1;  // the page is not cross-origin isolated: no SharedArrayBuffer
  ortModule.env.logLevel = 'error';
  return { version: ortModule.env.versions?.web ?? 'unknown' };
}

function valueInfo(name: string, dims: number[]): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } };
}

function initializer(name: string, dims: number[], data: Float32Array): onnx.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function ints(name: string, values: number[]): onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: values };
}

function model(nodes: onnx.INodeProto[], inits: onnx.ITensorProto[], input: onnx.IValueInfoProto, output: onnx.IValueInfoProto): Uint8Array {
  const proto = onnx.ModelProto.fromObject({
    irVersion: 8,
    producerName: 'deconvnet-webgpu bench',
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'bench', node: nodes, initializer: inits, input: [input], output: [output] },
  });
  return onnx.ModelProto.encode(proto).finish();
}

function convNode(w: ConvWeights, x: string, y: string): onnx.INodeProto {
  return {
    opType: 'Conv', name: w.name, input: [x, `${w.name}.W`, `${w.name}.B`], output: [y],
    attribute: [ints('kernel_shape', [w.k, w.k]), ints('pads', [1, 1, 1, 1]), ints('strides', [1, 1])],
  };
}

function convInits(w: ConvWeights): onnx.ITensorProto[] {
  return [initializer(`${w.name}.W`, [w.outC, w.inC, w.k, w.k], w.kernel), initializer(`${w.name}.B`, [w.outC], w.bias)];
}

/** One 3x3 'same' Conv with bias, NCHW. */
export function convModel(w: ConvWeights, size: number): Uint8Array {
  return model([convNode(w, 'x', 'y')], convInits(w), valueInfo('x', [1, w.inC, size, size]), valueInfo('y', [1, w.outC, size, size]));
}

/** The VGG16 conv stack: Conv + Relu x 13, MaxPool 2x2/2 x 5. */
export function vggModel(net: Vgg16): Uint8Array {
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [];
  let h = 'x';
  for (const step of net.steps) {
    if (step.kind === 'conv') {
      nodes.push(convNode(step.w, h, `${step.w.name}.conv`), { opType: 'Relu', name: `${step.w.name}.relu`, input: [`${step.w.name}.conv`], output: [step.w.name] });
      inits.push(...convInits(step.w));
      h = step.w.name;
    } else {
      nodes.push({ opType: 'MaxPool', name: step.name, input: [h], output: [step.name], attribute: [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])] });
      h = step.name;
    }
  }
  return model(nodes, inits, valueInfo('x', [1, 3, net.size, net.size]), valueInfo(h, [1, ...net.outShape]));
}

/** The adapter of the device ORT's WebGPU backend made (known once a session exists). */
export async function ortAdapter(): Promise<string> {
  const device = (await ortModule!.env.webgpu.device) as GPUDevice | undefined;
  const info = device?.adapterInfo;
  return info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') : 'unknown';
}

export interface OrtRun {
  run: () => Promise<Float32Array>;
  dispose: () => Promise<void>;
}

/** A session on the WebGPU EP; each run uploads the input and reads the output back (ORT's default 'cpu' output location). */
export async function ortRun(bytes: Uint8Array, input: Float32Array, dims: number[]): Promise<OrtRun> {
  const ort = ortModule!;
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'], graphOptimizationLevel: 'all' });
  const [inName] = session.inputNames;
  const [outName] = session.outputNames;
  return {
    run: async () => {
      const out = await session.run({ [inName!]: new ort.Tensor('float32', input, dims) });
      const t = out[outName!]!;
      try { return (await t.getData()) as Float32Array; } finally { t.dispose(); }
    },
    dispose: () => session.release(),
  };
}
