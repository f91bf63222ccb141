// Setup of the `dawn` vitest project: the kernel tests (test/*.test.ts that
// need only a GPUDevice) run in Node with Dawn's WebGPU (the `webgpu`
// package) installed as navigator.gpu, where createRuntime() looks for it.
import { installDawn } from '../../scripts/node-gpu.js';

await installDawn();
