// npx tsx bench/project-profile.ts [--net vgg16|tiny-vgg --size 32 --layer NAME --channel 7 --pin VARIANT --dense --rounds 9]
// GPU time of every kernel (runtime.profile, timestamp queries) of the
// benchmark's VGG16 (or the demo's Tiny VGG at 64x64) forward and of its
// forward + DeconvNet projection of conv5_3 (conv_2_2; or --layer), after tuning, in headless Chromium on the tests' adapter: where
// the projection's time goes next to the forward's. --dense: the projection
// walks every layer on its whole map (sparse: false), for before/after.
import { runInChromium, arg } from '../scripts/chromium-runner.js';
await runInChromium('bench/project-profile-page.ts', {
  net: arg('net', 'vgg16'), size: Number(arg('size', '32')), layer: arg('layer', ''), channel: Number(arg('channel', '7')), pin: arg('pin', ''),
  dense: process.argv.includes('--dense'), rounds: Number(arg('rounds', '9')),
});
