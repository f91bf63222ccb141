// The kernel layer: how a shader module declares a kernel once.
//
// A kernel is a generator of WGSL from a spec (plain data: tile sizes,
// flags such as bias / relu, the activation kind). defineKernel() gives it a
// name, and its program factory derives the pipeline cache key from the very
// spec it generates the WGSL from (kernelKey: a stable serialisation). So no
// key is written by hand, and a new flag in a spec can never be answered by
// a pipeline compiled without it.
//
// kernelHeader() writes the Params struct, the uniform at @binding(0) and the
// storage bindings from 1 on, in the order the op passes its buffers;
// flatMain() the entry point of a 1-D element-wise kernel (flat index over a
// dispatch folded past 65535 workgroups, bounds guard).
import { flatIndexFn } from './params.js';

export type Dispatch = [number, number, number];

/**
 * What a shader module's program factory returns: all of a launch but the
 * buffers (src/gpu/recorder.ts's Program is this plus `buffers`).
 */
export interface KernelProgram {
  /** Kernel name, used in labels and error messages. */
  name: string;
  /** Pipeline cache key: the kernel's name and its spec (see kernelKey). */
  key: string;
  /** Builds the WGSL from the spec the key was derived from (only called on a cache miss). */
  shader: () => string;
  /** Packed `Params` uniform, bound at @binding(0). */
  params: ArrayBuffer;
  /** Workgroups in x, y, z. */
  dispatch: Dispatch;
}

/** A spec: plain data (numbers, strings, booleans, arrays and objects of them). */
export type KernelSpec = object | undefined;

export interface Kernel<S extends KernelSpec> {
  readonly name: string;
  /** The WGSL of one variant. */
  readonly generate: (spec: S) => string;
  /** The launch of one variant: key derived from `spec`, WGSL generated from the same `spec`. */
  program(spec: S, params: ArrayBuffer, dispatch: Dispatch, label?: string): KernelProgram;
  /** Key and WGSL of one variant, for a pass recorded without a Program (one that binds a texture). */
  pipeline(spec: S): { key: string; shader: () => string };
}

/**
 * The names of the kernels defined so far, in order: a name must be unique
 * across the library, being the key's prefix (test/kernel_layer.test.ts checks;
 * not a throw here, so that a module re-evaluated by hot reload still loads).
 */
export const definedKernels: string[] = [];

/**
 * Declares a kernel. `generate` must depend on nothing but its spec and
 * module constants: the key is derived from the spec alone.
 */
export function defineKernel<S extends KernelSpec = undefined>(name: string, generate: (spec: S) => string): Kernel<S> {
  definedKernels.push(name);
  return {
    name,
    generate,
    program: (spec, params, dispatch, label = name) => ({ name: label, key: kernelKey(name, spec), shader: () => generate(spec), params, dispatch }),
    pipeline: (spec) => ({ key: kernelKey(name, spec), shader: () => generate(spec) }),
  };
}

/** `name`, '/' and a stable serialisation of `spec` (object keys sorted, undefined fields left out). */
export function kernelKey(name: string, spec: unknown): string {
  return spec === undefined ? name : `${name}/${stableText(spec)}`;
}

function stableText(v: unknown): string {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stableText).join(',')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${k}=${stableText(x)}`).join(',')}}`;
  }
  throw new Error(`kernel spec: a ${typeof v} cannot be part of a spec (plain data only)`);
}

/** One resource a kernel binds: its WGSL name, type and access (a storage buffer's, or 'texture'). */
export interface Binding { name: string; type: string; access: 'read' | 'read_write' | 'texture' }

/** A storage buffer the kernel reads (default `array<f32>`). */
export function read(name: string, type = 'array<f32>'): Binding {
  return { name, type, access: 'read' };
}

/** A storage buffer the kernel writes (and may read). */
export function readWrite(name: string, type = 'array<f32>'): Binding {
  return { name, type, access: 'read_write' };
}

/** A texture the kernel reads (`texture_2d<f32>`, `texture_external`, ...). */
export function texture(name: string, type = 'texture_2d<f32>'): Binding {
  return { name, type, access: 'texture' };
}

/**
 * The Params struct, `p` at @binding(0) and the storage bindings at 1, 2, ...
 * in the order given, which is the order of the op's `buffers`. Falsy entries
 * (`spec.bias && read('bias')`) are left out, and the ones after move up, as
 * the op's buffer list does.
 */
export function kernelHeader(params: { struct: string }, bindings: ReadonlyArray<Binding | false | null | undefined>): string {
  const present = bindings.filter((b): b is Binding => Boolean(b));
  return [
    params.struct,
    '@group(0) @binding(0) var<uniform> p: Params;',
    ...present.map((b, i) => `@group(0) @binding(${i + 1}) var${b.access === 'texture' ? '' : `<storage, ${b.access}>`} ${b.name}: ${b.type};`),
  ].join('\n');
}

/**
 * The entry point of a 1-D kernel of `workgroup` invocations a workgroup
 * (launched with dispatch1d): `i` is the flat invocation index, and
 * invocations at or past `count` (a WGSL expression, e.g. 'p.size') return
 * before `body` runs.
 */
export function flatMain(workgroup: number, count: string, body: string): string {
  refuseDirectives('flatMain', body);
  return `${flatIndexFn(workgroup)}

@compute @workgroup_size(${workgroup})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= ${count}) { return; }
${body}
}`;
}

/**
 * The entry point of a kernel that gives each row a workgroup of `workgroup`
 * invocations (launched with dispatch1d(rows, 1)): `row` is the flat
 * workgroup index, `li` the invocation's index within it. Whole workgroups
 * past `rows` (a WGSL expression) return before `body`, so `body` may use
 * barriers (the return is workgroup-uniform).
 */
export function rowMain(workgroup: number, rows: string, body: string): string {
  refuseDirectives('rowMain', body);
  return `@compute @workgroup_size(${workgroup})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) li: u32) {
  // Workgroup-uniform, so returning here keeps the barriers in uniform control flow.
  let row = wid.x + wid.y * nwg.x;
  if (row >= ${rows}) { return; }
${body}
}`;
}

// `body` is plain text, not part of a wgsl`` template: a #if in it would reach the compiler.
function refuseDirectives(helper: string, body: string): void {
  if (/^\s*#(if|elif|else|endif)\b/m.test(body)) throw new Error(`${helper}: #if directives do not work inside the body; choose the text in TypeScript`);
}

/** Workgroup counts for a 1-D kernel over `elements`, folded into y past 65535 workgroups (flatIndexFn unfolds them). */
export function dispatch1d(elements: number, workgroupSize: number): Dispatch {
  const groups = Math.ceil(elements / workgroupSize);
  if (groups <= 65535) return [groups, 1, 1];
  const x = 65535;
  return [x, Math.ceil(groups / x), 1];
}
