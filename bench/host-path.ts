// npx tsx bench/host-path.ts [--runs 50] [--size 32]
// What the host side of one small-net call costs, in headless Chromium:
// submits, mapAsync calls, error-scope pops, serial GPU waits, buffers and
// bind groups created, and the wall time (median of --runs interleaved rounds) of
//   - forward + projection + read: model.forward -> deconv.project -> proj.read
//   - the same recorded into one submit (runtime.run with forwardIn/projectIn/rec.read), where the library has it
//   - forward + read of the probabilities: model.forward -> readOutput, and model.predict where the library has it.
// The counts come from wrapping the GPUDevice's own methods, not from the
// library's stats, so the same page measures an older checkout (see notes/host-path.md).
import { runInChromium, arg } from '../scripts/chromium-runner.js';
await runInChromium('bench/host-path-page.ts', { runs: Number(arg('runs', '50')), size: Number(arg('size', '32')) });
