// npx tsx bench/live.ts [--seconds 10] [--tune]
// Live-mode frame rate with Tiny VGG (../shared/models/tiny-vgg, 64x64 RGB)
// in headless Chromium on the tests' adapter (SwiftShader here): each frame
// of a 320x240 video goes through GPU input (crop + resize), forward,
// projection of one channel of the last conv layer, and the drawing of the
// input, that layer's feature-map grid and the projection.
import { runInChromium, arg } from '../scripts/chromium-runner.js';
// --tune: first measure this adapter's kernel variants on Tiny VGG's shapes (the
// page's "Tune the kernels for this GPU"), then time the frames on the picks.
await runInChromium('bench/live-page.ts', { seconds: Number(arg('seconds', '10')), tune: process.argv.includes('--tune') });
