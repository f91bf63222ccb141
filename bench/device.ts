// npx tsx bench/device.ts [--dry] [--node] [flags of bench/device-args.ts]
//
// The device check (bench/device-sections.ts): adapter, a correctness gate of
// every registered kernel variant, per-kernel GPU times ours vs TF.js, the six
// workloads end to end; the JSON is rewritten after every item. In headless
// Chromium by default (the tests' browser; `--dry` is the SwiftShader dry
// run, written to bench/results/swiftshader-dryrun-<date>.json), or with
// `--node` in this Node process's sibling on Dawn, the way a GPU machine runs
// it (scripts/device-check.sh, from the bundle of scripts/device-bundle.sh).
import { parseDeviceArgs } from './device-args.js';

const chromeFlags = ['--enable-dawn-features=allow_unsafe_apis', '--disable-dawn-features=timestamp_quantization'];

if (process.argv.includes('--node')) {
  // TF.js's ES modules import directories, which Node's own loader refuses: one esbuild bundle, as bench/run.ts does.
  const { build } = await import('esbuild');
  const { spawnSync } = await import('node:child_process');
  const outfile = 'node_modules/.cache/deconvnet-webgpu/device-node.mjs';
  await build({
    entryPoints: ['bench/device-node.ts'], bundle: true, platform: 'node', format: 'esm', target: 'node20', external: ['webgpu'], outfile, logLevel: 'warning',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  const run = spawnSync(process.execPath, [outfile, '--run-device', ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
} else {
  const { runInChromium } = await import('../scripts/chromium-runner.js');
  const args = parseDeviceArgs(process.argv, 'headless Chromium', chromeFlags);
  const started = Date.now();
  const result = await runInChromium('bench/device-page.ts', args as unknown as Record<string, unknown>, chromeFlags);
  console.log(`wrote ${args.out} in ${Math.round((Date.now() - started) / 1000)} s: ${JSON.stringify(result)}`);
}
