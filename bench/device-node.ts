// The device check in Node on Dawn (the `webgpu` package): the entry of the
// bundle that scripts/device-bundle.sh builds for a GPU machine without a
// browser (`node device-node.mjs --run-device [flags of bench/device-args.ts]`),
// and of `npx tsx bench/device.ts --node`. Dawn's adapter is created with
// timestamp quantization off (TIMESTAMP_FLAGS).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { installDawn } from './node.js';
import { parseDeviceArgs, TIMESTAMP_FLAGS } from './device-args.js';

if (process.argv.includes('--run-device')) {
  await installDawn(TIMESTAMP_FLAGS);
  // Imported after navigator.gpu exists: TF.js's WebGPU backend registers itself only where it finds one.
  const { deviceMain } = await import('./device-sections.js');
  const args = parseDeviceArgs(process.argv, `node ${process.version} + Dawn (webgpu package)`, TIMESTAMP_FLAGS);
  mkdirSync(dirname(args.out), { recursive: true });
  const report = await deviceMain(args, {
    save: async (json) => writeFileSync(args.out, json),
    log: (line) => console.log(line),
  });
  console.log(`wrote ${args.out}: ${JSON.stringify(report.status)}`);
  process.exit(0);
}
