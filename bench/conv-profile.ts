// npx tsx bench/conv-profile.ts [--c 64 --size 112 --repeats 3 --variants all|direct,tiled,... --blocks 8x16,16x16t,...]
// (a block RPxRMt reads the weight as [C, kH, kW, M]; minimum, median and max of the timed runs)
// GPU time (timestamp queries) of one 3x3 convolution under each kernel variant
// and each direct register block, in headless Chromium on the tests' adapter.
import { runInChromium, arg } from '../scripts/chromium-runner.js';
await runInChromium('bench/conv-profile-page.ts', {
  c: Number(arg('c', '64')), size: Number(arg('size', '112')), repeats: Number(arg('repeats', '3')), blocks: arg('blocks', ''), variants: arg('variants', 'all'),
});
