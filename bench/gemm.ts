// npx tsx bench/gemm.ts [--n 256] [--repeats 3] [--conv 64x28]
// GPU time (timestamp queries; wall clock where the device lacks them) of one
// n x n x n matmul under every matmul variant, and of one 3x3 convolution
// (C->C at SxS, --conv CxS) under the GEMM conv variants and the conv variants
// of the registry, in headless Chromium on the tests' adapter (SwiftShader here).
import { runInChromium, arg } from '../scripts/chromium-runner.js';
await runInChromium('bench/gemm-page.ts', { n: Number(arg('n', '256')), repeats: Number(arg('repeats', '3')), conv: arg('conv', '64x28') });
