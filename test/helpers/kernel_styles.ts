// Every op with a 'tiled' and a 'direct' kernel family (see RuntimeOptions.kernelStyle)
// is tested in both: a runtime per style on the device of getRuntime(), so the
// uncaptured-error check of helpers/gpu.ts covers them too.
import { afterAll } from 'vitest';
import { createRuntime, type KernelStyle, type Runtime } from '../../src/gpu/runtime.js';
import { getRuntime } from './gpu.js';

export const KERNEL_STYLES: readonly KernelStyle[] = ['tiled', 'direct'];

const runtimes = new Map<KernelStyle, Promise<Runtime>>();

/** A poisoning runtime whose ops use `style`, sharing the device of getRuntime(). */
export function styledRuntime(style: KernelStyle): Promise<Runtime> {
  let rt = runtimes.get(style);
  if (!rt) {
    rt = getRuntime().then((base) => createRuntime({ device: base.device, kernelStyle: style, poisonNewTensors: true }));
    runtimes.set(style, rt);
  }
  return rt;
}

afterAll(async () => {
  for (const rt of runtimes.values()) (await rt).destroy();
  runtimes.clear();
});
