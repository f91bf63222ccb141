// The programs (WGSL + launch size) the library records for an op, captured
// without a GPU: a Runtime on a stand-in device that only accepts buffers and
// submits, and Recorder.prototype.dispatch replaced while `capture` runs, so
// every dispatch of every recording (the op's own, a cached weight
// transform's) is collected instead of compiled. Used by the static kernel
// report (bench/kernel-report.ts).
import { createRuntime, type Runtime } from '../src/gpu/runtime.js';
import { Recorder, type Program } from '../src/gpu/recorder.js';
import { KERNEL_VARIANTS, type TunableOp } from '../src/gpu/tuning.js';

export interface CapturedProgram {
  name: string;
  key: string;
  label: string;
  dispatch: [number, number, number];
  wgsl: string;
}

/** Limits of a desktop GPU (Dawn on an NVIDIA H100), so variants that need large bindings are offered. */
export const DESKTOP_LIMITS: Record<string, number> = {
  maxStorageBufferBindingSize: 2 ** 31 - 4,
  maxBufferSize: 2 ** 31 - 4,
  maxComputeWorkgroupStorageSize: 32768,
  maxComputeInvocationsPerWorkgroup: 1024,
  maxComputeWorkgroupSizeX: 1024,
  maxComputeWorkgroupSizeY: 1024,
  maxComputeWorkgroupSizeZ: 64,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBuffersPerShaderStage: 10,
  maxUniformBufferBindingSize: 65536,
  minStorageBufferOffsetAlignment: 256,
  minUniformBufferOffsetAlignment: 256,
};

const FEATURES = ['timestamp-query', 'shader-f16', 'subgroups'];

/** WebGPU's flag namespaces, where Node lacks them. */
function installFlagGlobals(): void {
  const g = globalThis as Record<string, unknown>;
  g.GPUBufferUsage ??= { MAP_READ: 1, MAP_WRITE: 2, COPY_SRC: 4, COPY_DST: 8, INDEX: 16, VERTEX: 32, UNIFORM: 64, STORAGE: 128, INDIRECT: 256, QUERY_RESOLVE: 512 };
  g.GPUMapMode ??= { READ: 1, WRITE: 2 };
  g.GPUShaderStage ??= { VERTEX: 1, FRAGMENT: 2, COMPUTE: 4 };
}

/** A device that creates inert buffers and accepts commands; it never runs a kernel. */
function standInDevice(): GPUDevice {
  const noop = () => undefined;
  const pass = { setPipeline: noop, setBindGroup: noop, dispatchWorkgroups: noop, end: noop };
  const encoder = { beginComputePass: () => pass, copyBufferToBuffer: noop, resolveQuerySet: noop, clearBuffer: noop, finish: () => ({}) };
  const buffer = (d: GPUBufferDescriptor) => ({
    size: d.size, usage: d.usage, label: d.label ?? '', mapState: 'unmapped', destroy: noop, unmap: noop,
    mapAsync: async () => undefined, getMappedRange: () => new ArrayBuffer(d.size),
  });
  const device = {
    label: 'stand-in (kernel report)',
    limits: DESKTOP_LIMITS,
    features: new Set(FEATURES),
    adapterInfo: { vendor: 'stand-in', architecture: '', device: '', description: 'kernel report, no GPU' },
    lost: new Promise(noop),
    queue: { writeBuffer: noop, submit: noop, onSubmittedWorkDone: async () => undefined },
    createBuffer: buffer,
    createCommandEncoder: () => encoder,
    createQuerySet: () => ({ destroy: noop }),
    createShaderModule: () => ({}),
    createComputePipeline: () => ({ getBindGroupLayout: () => ({}) }),
    createBindGroup: () => ({}),
    pushErrorScope: noop,
    popErrorScope: async () => null,
    destroy: noop,
  };
  return device as unknown as GPUDevice;
}

/** A tiled-family runtime on the stand-in device. */
export async function captureRuntime(): Promise<Runtime> {
  installFlagGlobals();
  return createRuntime({ device: standInDevice(), kernelStyle: 'tiled' });
}

/** The variant names the registry lists for `op`, whatever shape the registry has (a list, or a table keyed by name). */
export function variantsOf(op: TunableOp): string[] {
  const entry = (KERNEL_VARIANTS as Record<string, unknown>)[op];
  if (Array.isArray(entry)) return entry.map(String);
  return entry && typeof entry === 'object' ? Object.keys(entry) : [];
}

/** Every op the registry lists. */
export function registeredOps(): TunableOp[] {
  return Object.keys(KERNEL_VARIANTS) as TunableOp[];
}

export interface Capture {
  programs: CapturedProgram[];
  /** What the kernel chooser answered, as "op:variant", in order (a pin a shape cannot take falls back). */
  chosen: string[];
}

/**
 * Runs `work` on `rt` (a captureRuntime) and returns the programs its
 * recordings dispatched and the variants the chooser picked.
 */
export async function capture(rt: Runtime, work: () => Promise<void>): Promise<Capture> {
  const programs: CapturedProgram[] = [];
  const dispatch = Recorder.prototype.dispatch;
  Recorder.prototype.dispatch = function (this: Recorder, program: Program, label = program.name) {
    programs.push({ name: program.name, key: program.key, label, dispatch: [...program.dispatch], wgsl: program.shader() });
  };
  try {
    const chosen = await watchChooser(rt, work);
    return { programs, chosen };
  } finally {
    Recorder.prototype.dispatch = dispatch;
  }
}

/** Runs `work` and returns what the kernel chooser answered meanwhile, as "op:variant" in order. */
export async function watchChooser(rt: Runtime, work: () => Promise<void>): Promise<string[]> {
  const chosen: string[] = [];
  const kernelVariant = rt.kernelVariant;
  rt.kernelVariant = (...args: Parameters<Runtime['kernelVariant']>) => {
    const v = kernelVariant.apply(rt, args);
    chosen.push(`${args[0]}:${v}`);
    return v;
  };
  try {
    await work();
  } finally {
    rt.kernelVariant = kernelVariant;
  }
  return chosen;
}
