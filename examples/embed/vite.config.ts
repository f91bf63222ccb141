import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// `npm run example:embed` serves this example; `npx vite build -c examples/embed/vite.config.ts`
// builds it (into EMBED_OUT_DIR, default dist-demo-embed-example/ at the project root).
// The model, its sample photos and their MIT licence are served from the demo's copy of
// Tiny VGG (demo/public/models/tiny-vgg), so the 80 KB of weights are not duplicated.
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('.'),
  publicDir: here('../../demo/public/models/tiny-vgg'),
  // Pre-bundled up front so the dev server never reloads the page mid-session.
  optimizeDeps: { include: ['wgsl-preprocessor/wgsl-preprocessor.js'] },
  server: { port: 5198, strictPort: false, fs: { allow: [here('../..')] } },
  preview: { port: 5198 },
  build: { outDir: here(`../../${process.env.EMBED_OUT_DIR ?? 'dist-demo-embed-example'}`), emptyOutDir: true, target: 'es2022' },
});
