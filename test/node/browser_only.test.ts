// The split of the kernel tests between the browser and the `dawn` project
// (test/node/browser_only.ts) matches what the files use: a test that needs
// the DOM is not run on Node, and none that needs only a GPUDevice is left out.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { BROWSER_ONLY, browserApiUse, dawnTestFiles } from './browser_only.js';

const root = process.cwd();
const kernelTests = readdirSync('test').filter((n) => n.endsWith('.test.ts')).map((n) => `test/${n}`);

describe('browser-only kernel tests', () => {
  it('lists only files that exist and use a browser API', () => {
    for (const file of Object.keys(BROWSER_ONLY)) {
      expect(existsSync(file), file).toBe(true);
      expect(browserApiUse(root, file), `${file} is listed as browser-only but uses no browser API`).not.toBeNull();
    }
  });

  it('leaves on Dawn only files that use no browser API', () => {
    const misplaced = dawnTestFiles(root).map((file) => browserApiUse(root, file)).filter(Boolean);
    expect(misplaced, 'add these to BROWSER_ONLY in test/node/browser_only.ts').toEqual([]);
    expect(dawnTestFiles(root).length + Object.keys(BROWSER_ONLY).length).toBe(kernelTests.length);
  });

  it('finds the browser APIs it looks for, in comment-free code and one import down', () => {
    const uses = kernelTests.map((file) => browserApiUse(root, file)).filter(Boolean);
    expect(uses.some((u) => u!.includes('document.'))).toBe(true);
    expect(uses.some((u) => u!.includes("from 'vitest/browser'"))).toBe(true);
  });
});
