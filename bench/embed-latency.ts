// npx tsx bench/embed-latency.ts [--rounds 15] [--warmup 3] [--layer conv_2_2] [--channel 0]
//   [--photo bug_1.jpeg] [--out bench/results/embed-latency.json]
//
// Latency of one forward + DeconvNet projection + drawn picture of Tiny VGG at
// 64x64 (issue 12's embedding workload), ours vs TF.js (WebGPU backend), in
// one headless Chromium page on one adapter, interleaved rounds, medians and
// their ratio (bench/embed-latency-page.ts says what each side does). Also
// checks, outside the timed region, that both compute the same projection.
// Prints a summary and writes the JSON to --out.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, runInChromium } from '../scripts/chromium-runner.js';
import type { EmbedLatencyArgs, EmbedLatencyResult } from './embed-latency-page.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// Our picture goes to a WebGPU canvas: with the adapter on SwiftShader, Chromium can present one
// only when its compositor runs on SwiftShader's Vulkan too (see e2e/embed.spec.ts).
const WEBGPU_CANVAS_ARGS = ['--use-angle=swiftshader', '--enable-features=Vulkan', '--use-vulkan=swiftshader'];

const args: EmbedLatencyArgs = {
  photo: `/demo/public/models/tiny-vgg/samples/${arg('photo', 'bug_1.jpeg')}`,
  layer: arg('layer', 'conv_2_2'),
  channel: Number(arg('channel', '0')),
  warmup: Number(arg('warmup', '3')),
  rounds: Number(arg('rounds', '15')),
};
const out = arg('out', 'bench/results/embed-latency.json');

const result = await runInChromium('bench/embed-latency-page.ts', args as unknown as Record<string, unknown>, WEBGPU_CANVAS_ARGS) as EmbedLatencyResult;

const fmt = (name: string) => {
  const m = result.medians[name];
  return !m ? 'n/a' : 'error' in m ? `failed: ${m.error}` : `${m.median.toFixed(1)} ms (q1 ${m.q1.toFixed(1)}, q3 ${m.q3.toFixed(1)})`;
};
console.log(`\n${result.workload}`);
console.log(`adapter: ${result.adapter}; TF.js ${result.tfjs}; ${result.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? ''}`);
console.log(`ours (GPU input -> forward + projection -> GPU draw to a WebGPU canvas): ${fmt('ours')}`);
console.log(`TF.js, fromPixels -> grad -> toPixels:  ${fmt('tfjs-toPixels')}  ratio ${result.ratios['tfjs-toPixels']!.toFixed(2)}x`);
console.log(`TF.js, fromPixels -> grad -> browser.draw: ${fmt('tfjs-draw')}  ratio ${result.ratios['tfjs-draw']!.toFixed(2)}x`);
const c = result.check;
console.log(`same projection? max |ours - TF.js| / max |TF.js|: ${c.relErrorDirect.toExponential(2)} direct (${c.differingPixelsDirect} pixels differ: max-pool ties), ${c.relErrorMirrored.toExponential(2)} on the mirrored problem; top class ours ${c.ourClass}, TF.js ${c.tfClass}`);
const file = resolve(root, out);
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2)}\n`);
console.log(`wrote ${out}`);
