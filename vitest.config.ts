import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { chromiumPath, chromiumArgs } from './chromium.config';
import { onnxCommands } from './test/onnx/commands';
import { dawnTestFiles } from './test/node/browser_only';

// The kernel tests that run on Node + Dawn in the default run: pooling and
// unpooling, matmul, the DeconvNet projections in every mode (conv layers
// forward and back, dense and sparse walks, against float64) and training
// steps, small enough to keep the whole suite's time in bounds (about 2.5 min
// of test time on the loaded 2-core machine). deconvnet.test.ts (3 min there,
// its float64 central differences) and conv2d (2 min) run with the rest in
// `npm run test:node` (DAWN_TESTS=all): every kernel test file that needs only
// a GPUDevice (test/node/browser_only.ts; times in docs/node-dawn.md).
const DAWN_SUBSET = ['test/maxpool2d.test.ts', 'test/unpool2d.test.ts', 'test/matmul.test.ts', 'test/sparse_projection.test.ts', 'test/train.test.ts'];

// Unit tests run inside headless Chromium with WebGPU (SwiftShader by default).
// test/node/ runs the same core in Node through Dawn (the `webgpu` package);
// the `dawn` project runs the kernel tests there too (see DAWN_SUBSET).
export default defineConfig({
  test: {
    projects: [
      {
        // Pre-bundled so a cold cache does not reload a running test.
        optimizeDeps: { include: ['onnx-proto', 'wgsl-preprocessor/wgsl-preprocessor.js', '@tensorflow/tfjs-core', '@tensorflow/tfjs-core/dist/register_all_gradients', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-layers', '@tensorflow-models/mobilenet/dist/imagenet_classes.js'] },
        test: {
          name: 'browser',
          include: ['test/**/*.test.ts'],
          exclude: ['test/node/**'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({ launchOptions: { executablePath: chromiumPath, args: chromiumArgs } }),
            instances: [{ browser: 'chromium' }],
            screenshotFailures: false,
            // Server-side reading of ../shared/onnx-conformance (outside Vite's served root).
            commands: onnxCommands,
          },
        },
      },
      {
        test: {
          name: 'node',
          include: ['test/node/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'dawn',
          include: process.env.DAWN_TESTS === 'all' ? dawnTestFiles(fileURLToPath(new URL('.', import.meta.url))) : DAWN_SUBSET,
          environment: 'node',
          // Dawn as navigator.gpu, where createRuntime() looks for it.
          setupFiles: ['test/node/dawn-setup.ts'],
          // Dawn compiles each pipeline on SwiftShader's CPU (seconds each for
          // the big register blocks), and set-ups compile many.
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
