// npx tsx bench/train-step-profile.ts [--batch 64 --repeats 3]
import { runInChromium, arg } from '../scripts/chromium-runner.js';
await runInChromium('bench/train-step-profile-page.ts', { batch: Number(arg('batch', '64')), repeats: Number(arg('repeats', '3')) });
