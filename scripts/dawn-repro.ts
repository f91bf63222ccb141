// npx tsx scripts/dawn-repro.ts [--case barrier|plain] [--submits 2000] [--workgroups 64]
// A first guess at the Dawn for Node crash on SwiftShader: one small compute
// shader submitted over and over, its result read back every 50 submits
// (what a training or evaluation loop does). Prints the passes done and
// whether the sums are right. It does not crash: the crash was Dawn's instance
// garbage-collected under its device, not a shader (scripts/dawn-crash-case.ts,
// docs/node-dawn.md); kept as the evidence that barrier shaders run fine.
import { installDawn } from './node-gpu.js';
import { arg } from './chromium-runner.js';

// 'barrier': a workgroup reduction (workgroup memory + workgroupBarrier in a
// loop), the shape of our tiled kernels and loss reduction. 'plain': the
// same sums without workgroup memory or barriers, one invocation a row.
const SHADERS: Record<string, { code: string; workgroupSize: number }> = {
  barrier: {
    workgroupSize: 64,
    code: /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
var<workgroup> part: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  part[li] = x[wid.x * 64u + li];
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (li < s) { part[li] += part[li + s]; }
    workgroupBarrier();
  }
  if (li == 0u) { y[wid.x] = part[0]; }
}`,
  },
  plain: {
    workgroupSize: 1,
    code: /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(1)
fn main(@builtin(workgroup_id) wid: vec3u) {
  var s = 0.0;
  for (var i = 0u; i < 64u; i++) { s += x[wid.x * 64u + i]; }
  y[wid.x] = s;
}`,
  },
};

const which = arg('case', 'barrier');
const submits = Number(arg('submits', '2000'));
const rows = Number(arg('workgroups', '64'));
const shader = SHADERS[which];
if (!shader) throw new Error(`--case ${which}: use ${Object.keys(SHADERS).join(' or ')}`);

const gpu = await installDawn();
const adapter = await gpu?.requestAdapter();
if (!adapter) throw new Error('Dawn found no WebGPU adapter');
const device = await adapter.requestDevice();
console.log(`Dawn on ${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}; case ${which}, ${submits} submits of ${rows} workgroups`);
const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: shader.code }), entryPoint: 'main' } });
const x = device.createBuffer({ size: rows * 64 * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
device.queue.writeBuffer(x, 0, Float32Array.from({ length: rows * 64 }, (_, i) => i % 64));
const y = device.createBuffer({ size: rows * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: x } }, { binding: 1, resource: { buffer: y } }] });
const started = performance.now();
for (let i = 1; i <= submits; i++) {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(rows);
  pass.end();
  const readBack = i % 50 === 0 ? device.createBuffer({ size: rows * 4, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ }) : null;
  if (readBack) encoder.copyBufferToBuffer(y, 0, readBack, 0, rows * 4);
  device.queue.submit([encoder.finish()]);
  if (readBack) {
    await readBack.mapAsync(GPUMapMode.READ);
    const sums = new Float32Array(readBack.getMappedRange().slice(0));
    readBack.destroy();
    const wrong = sums.findIndex((s) => s !== 2016);
    if (wrong >= 0) throw new Error(`submit ${i}: workgroup ${wrong} summed to ${sums[wrong]}, not 2016`);
    if (i % 500 === 0) console.log(`${i} submits, sums right (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
}
console.log(`done: ${submits} submits, no crash`);
device.destroy();
process.exit(0);
