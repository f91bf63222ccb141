import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { chromiumPath, chromiumArgs } from './chromium.config';
import { onnxCommands } from './test/onnx/commands';

// Unit tests run inside headless Chromium with WebGPU (SwiftShader by default).
// test/node/ runs the same core in Node through Dawn (the `webgpu` package).
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
    ],
  },
});
