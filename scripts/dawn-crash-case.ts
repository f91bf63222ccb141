// npx tsx scripts/dawn-crash-case.ts [--keep] [--rounds 20]
// Reduced case of the Dawn for Node crash on SwiftShader (issue 14, "The Node
// path"; docs/node-dawn.md). The object `create()` of the `webgpu` package
// returns owns Dawn's instance: once JavaScript holds no reference to it, a
// garbage collection frees the instance (its threads, locks and queues) while
// the adapter and device made from it are still in use. The next GPU work then
// dies in native code: SIGSEGV, glibc's "The futex facility returned an
// unexpected error code." (abort), or a hang. Which one depends on where
// Dawn's threads are when the memory goes.
//
// Without --keep this script drops the GPU object after requesting the device,
// forces a collection and then runs a small compute shader (a copy and a
// readback per round): it crashes or hangs. With --keep it holds the GPU object
// (what scripts/node-gpu.ts does by installing it as navigator.gpu, and what
// the old scripts/evaluate.ts before 631fbfd did not) and every round reads
// back the right numbers. The old evaluate dropped it the same way; the
// collection came from allocating the 10,000 test images (31 MB), while the
// first pipelines compiled, so it crashed at varying points, and a run with a
// module-level `const gpu = ...` (tracing added) never did.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { existsSync } from 'node:fs';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const keep = process.argv.includes('--keep');
const roundsAt = process.argv.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Number(process.argv[roundsAt + 1]) : 20;

// global.gc without --expose-gc on the command line (tsx starts node for us).
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

let held: GPU | null = null;

/** A device from a fresh Dawn instance; the instance is kept only with --keep. */
async function requestDevice(): Promise<GPUDevice> {
  if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]) as GPU;
  if (keep) held = gpu;
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('Dawn found no WebGPU adapter (set VK_ICD_FILENAMES)');
  return adapter.requestDevice();
}

const SHADER = /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  y[id.x] = 2.0 * x[id.x] + 1.0;
}`;

const N = 64 * 256;

/** One round: y = 2x + 1 on the GPU, read back and checked. */
async function round(device: GPUDevice, pipeline: GPUComputePipeline, r: number): Promise<void> {
  const x = device.createBuffer({ size: N * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const y = device.createBuffer({ size: N * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const staging = device.createBuffer({ size: N * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(x, 0, Float32Array.from({ length: N }, (_, i) => i + r));
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: x } }, { binding: 1, resource: { buffer: y } }] }));
  pass.dispatchWorkgroups(N / 64);
  pass.end();
  encoder.copyBufferToBuffer(y, 0, staging, 0, N * 4);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  [x, y, staging].forEach((b) => b.destroy());
  const wrong = out.findIndex((v, i) => v !== 2 * (i + r) + 1);
  if (wrong >= 0) throw new Error(`round ${r}: y[${wrong}] = ${out[wrong]}, expected ${2 * (wrong + r) + 1}`);
}

const device = await requestDevice();
console.log(`device ready; GPU object ${keep ? 'held' : 'dropped'}; collecting garbage`);
collect();
// Finalizers run after the collection, on a later turn of the event loop.
await new Promise((resolve) => setTimeout(resolve, 100));
collect();
const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: SHADER }), entryPoint: 'main' } });
for (let r = 0; r < rounds; r++) {
  await round(device, pipeline, r);
  if (r % 5 === 4) collect();
}
console.log(`${rounds} rounds right${held ? '' : ' (the GPU object was dropped and this run survived)'}`);
device.destroy();
process.exit(0);
