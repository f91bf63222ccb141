// Which kernel tests (test/*.test.ts) run only in the browser project: those
// that use the DOM (canvases, images, video, textures copied from them) or the
// browser runner's server commands. Every other test file needs nothing but
// a GPUDevice and runs on Node + Dawn too (the `dawn` vitest project).
// test/node/browser_only.test.ts checks this list against the files.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Browser-only test files and why (relative to the project root). */
export const BROWSER_ONLY: Readonly<Record<string, string>> = {
  'test/render.test.ts': 'draws to canvases',
  'test/gpu_input.test.ts': 'imports canvases, images, ImageBitmaps and video frames',
  'test/gpu_output.test.ts': 'presents to canvases',
  'test/live.test.ts': 'reads video frames',
  'test/fuzz_onnx.test.ts': "reads ONNX cases through the browser runner's server commands",
  'test/import_onnx_light.test.ts': "reads ONNX cases through the browser runner's server commands",
  'test/onnx-conformance.test.ts': "reads ONNX cases through the browser runner's server commands",
};

/** Browser APIs whose use makes a test file browser-only. */
export const BROWSER_API = /\bdocument\.|OffscreenCanvas|HTMLCanvasElement|HTMLVideoElement|HTMLImageElement|createImageBitmap|\bVideoFrame\b|\bImageData\b|getContext\(|from '(@vitest\/browser|vitest\/browser)[^']*'/;

/** Source text without comments (prose mentions of a canvas are no use of one). */
function code(path: string): string {
  return readFileSync(path, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

/**
 * The first browser API a test file, or a test module it imports (test/helpers,
 * test/ref, test/onnx: one level down), uses; null where it needs only a
 * GPUDevice. The library itself (src/) runs anywhere: what it needs of the
 * DOM is reached only through the APIs listed here.
 */
export function browserApiUse(root: string, file: string): string | null {
  const source = code(join(root, file));
  const direct = BROWSER_API.exec(source);
  if (direct) return `${file}: ${direct[0]}`;
  for (const [, spec] of source.matchAll(/from '(\.\/[^']+)'/g)) {
    const path = resolve(root, dirname(file), spec!.replace(/\.js$/, '.ts'));
    if (!existsSync(path)) continue;
    const found = BROWSER_API.exec(code(path));
    if (found) return `${file} via ${spec}: ${found[0]}`;
  }
  return null;
}

/** The kernel test files (test/*.test.ts) that run on Dawn: all but the browser-only ones. */
export function dawnTestFiles(root: string): string[] {
  return readdirSync(join(root, 'test'))
    .filter((name) => name.endsWith('.test.ts'))
    .map((name) => `test/${name}`)
    .filter((file) => !(file in BROWSER_ONLY))
    .sort();
}
