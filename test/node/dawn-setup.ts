// Setup of the `dawn` vitest project: the kernel tests (test/*.test.ts that
// need only a GPUDevice) run in Node with Dawn's WebGPU (the `webgpu`
// package) installed as navigator.gpu, where createRuntime() looks for it.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { installDawn } from '../../scripts/node-gpu.js';

await installDawn();

// In the browser project Vite serves the project root, so a test can load
// '/demo/public/models/...' by URL. Here the page's origin is a made-up one
// whose paths fetch() reads from the project root; other URLs go to Node's fetch.
const ORIGIN = 'http://project.test';
const ROOT = new URL('../../', import.meta.url);
const nodeFetch = globalThis.fetch;
Object.defineProperty(globalThis, 'location', { value: new URL(`${ORIGIN}/`), configurable: true });
globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
  const url = new URL(input instanceof Request ? input.url : String(input), `${ORIGIN}/`);
  if (url.origin !== ORIGIN) return nodeFetch(input, init);
  try {
    return new Response(await readFile(fileURLToPath(new URL(`.${url.pathname}`, ROOT))));
  } catch {
    return new Response('not found', { status: 404, statusText: 'Not Found' });
  }
}) as typeof fetch;
