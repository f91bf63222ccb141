// npx tsx bench/occlusion-incremental.ts [--rounds 3] [--vgg-size 32 --vgg-grid 3] [--big-size 64 --big-grid 5]
// Incremental occlusion (the default path of occlusionSensitivity) against
// the full recomputation of every occluded copy (`incremental: false`, the
// occlusion of before), wall clock in headless Chromium on the tests'
// adapter, same maps checked: Tiny VGG at 64x64 with the demo's default
// occluder (16 px, stride 8, map (a) at the demo's default layer), and the
// benchmark's VGG16 occlusion workload (bench/nets.ts occlusionGrid).
import { runInChromium, arg } from '../scripts/chromium-runner.js';
await runInChromium('bench/occlusion-incremental-page.ts', {
  rounds: Number(arg('rounds', '3')),
  vggSize: Number(arg('vgg-size', '32')), vggGrid: Number(arg('vgg-grid', '3')),
  bigSize: Number(arg('big-size', '0')), bigGrid: Number(arg('big-grid', '5')),
});
