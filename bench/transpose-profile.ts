// npx tsx bench/transpose-profile.ts [--c 64 --size 56 --repeats 3 --variants direct,tiled,forward-conv --conv2d default,tiled-vec4]
// GPU time (timestamp queries) of two VGG-like transposed convolutions under each
// conv2dTranspose kernel variant, in headless Chromium on the tests' adapter:
// the DeconvNet filter step of a 3x3 'same' layer (stride 1, C -> C at size x size)
// and a 2x2 stride-2 upsampling (C -> C/2, size -> 2*size). 'forward-conv' is run
// once per --conv2d entry: the forward convolutions on the adapter default, or on
// that conv2d variant pinned.
import { runInChromium, arg } from '../scripts/chromium-runner.js';
await runInChromium('bench/transpose-profile-page.ts', {
  c: Number(arg('c', '64')), size: Number(arg('size', '56')), repeats: Number(arg('repeats', '3')),
  variants: arg('variants', 'direct,tiled,forward-conv'), conv2d: arg('conv2d', 'default,tiled-vec4'),
});
