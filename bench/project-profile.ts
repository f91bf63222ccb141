// npx tsx bench/project-profile.ts [--size 32 --channel 7 --pin VARIANT]
// GPU time of every kernel (runtime.profile, timestamp queries) of the
// benchmark's VGG16 forward and of its forward + DeconvNet projection of
// conv5_3, after tuning, in headless Chromium on the tests' adapter: where
// the projection's time goes next to the forward's.
import { runInChromium, arg } from '../scripts/chromium-runner.js';
await runInChromium('bench/project-profile-page.ts', { size: Number(arg('size', '32')), channel: Number(arg('channel', '7')), pin: arg('pin', '') });
