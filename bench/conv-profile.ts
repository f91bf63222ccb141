// npx tsx bench/conv-profile.ts [--c 64 --size 112 --repeats 3 --blocks 8x16,16x16,...]
// GPU time (timestamp queries) of one 3x3 convolution under each kernel variant
// and each direct register block, in headless Chromium on the tests' adapter.
import { runInChromium, arg } from '../scripts/chromium-runner.js';
await runInChromium('bench/conv-profile-page.ts', {
  c: Number(arg('c', '64')), size: Number(arg('size', '112')), repeats: Number(arg('repeats', '3')), blocks: arg('blocks', ''),
});
