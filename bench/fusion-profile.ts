// npx tsx bench/fusion-profile.ts [--rounds 5 --layer conv_2_2 --channel 7 --vgg16 --size 32]
// The fusions of docs/fusion.md, each against its unfused twin, in headless
// Chromium on the tests' adapter (GPU time per pass from timestamp queries,
// medians over --rounds):
// 1. forward: two conv(relu) + 2x2 pool blocks at 128x128 (and with --vgg16
//    the benchmark's VGG16 at --size) with conv2d pinned to 'gemm128-conv',
//    conv + pool pairs in one pass (default) vs `fusion: false`;
// 2. sparse projection of the demo's Tiny VGG (64x64) from --layer#--channel
//    at its maximum: the unpool in the loads of the next filter step vs its
//    own pass (planSparse's fuseUnpool).
import { runInChromium, arg } from '../scripts/chromium-runner.js';
await runInChromium('bench/fusion-profile-page.ts', {
  size: Number(arg('size', '32')), rounds: Number(arg('rounds', '5')), layer: arg('layer', 'conv_2_2'), channel: Number(arg('channel', '7')),
  vgg16: process.argv.includes('--vgg16'),
});
