import { defineConfig } from 'vite';

// `npm start` serves the demo page from demo/ (it imports the library from src/).
export default defineConfig({
  root: 'demo',
  // Pre-bundled up front so the dev server never reloads the page mid-session.
  optimizeDeps: { include: ['wgsl-preprocessor/wgsl-preprocessor.js'] },
  server: { port: 5173, strictPort: false, fs: { allow: ['..'] } },
  build: { outDir: '../dist-demo', emptyOutDir: true, target: 'es2022' },
});
