import { defineConfig } from '@playwright/test';
import { chromiumPath, chromiumArgs } from './chromium.config';

// End-to-end tests of the demo page in headless Chromium with WebGPU.
const port = Number(process.env.DEMO_PORT ?? 5179);
// Where the built page goes (several runs side by side each give their own).
const outDir = process.env.DEMO_OUT_DIR ?? 'dist-demo';

export default defineConfig({
  testDir: 'e2e',
  timeout: 180_000,
  reporter: 'list',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    headless: true,
    launchOptions: { executablePath: chromiumPath, args: chromiumArgs },
  },
  webServer: {
    // The built page, not the dev server: what users get, and no reloads while files change.
    command: `npx vite build --logLevel warn --outDir ../${outDir} && npx vite preview --outDir ../${outDir} --host 127.0.0.1 --port ${port} --strictPort`,
    url: `http://127.0.0.1:${port}`,
    reuseExistingServer: false,
    timeout: 120_000,
  },
});
