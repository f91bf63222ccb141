import { defineConfig } from '@playwright/test';
import { chromiumPath, chromiumArgs } from './chromium.config';

// End-to-end tests of the demo page in headless Chromium with WebGPU.
const port = Number(process.env.DEMO_PORT ?? 5179);

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
    command: `npx vite build --logLevel warn && npx vite preview --host 127.0.0.1 --port ${port} --strictPort`,
    url: `http://127.0.0.1:${port}`,
    reuseExistingServer: false,
    timeout: 120_000,
  },
});
