// The package as a user gets it: `npm pack` (which builds dist/ in prepack),
// the tarball installed into a fresh app in a temporary folder outside the
// repo, then imported from plain Node ESM, type-checked and bundled with Vite
// as that app, and run in headless Chromium. Prints the bundle sizes.
import { test, expect, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// One app for the whole file: packing and installing take most of the time.
test.describe.configure({ mode: 'serial' });

let app = '';
let server: Server | undefined;
let origin = '';

/** Runs a command, failing with its output (npm's messages say what went wrong). */
function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
  }
}

/** The README's `## Example` code block. */
function readmeExample(): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const block = /^## Example\n+```ts\n([\s\S]*?)^```/m.exec(readme);
  if (!block) throw new Error('README.md has no "## Example" section with a ```ts block');
  return block[1]!;
}

/** examples/readme-example.ts without its leading comment. */
function exampleFile(): string {
  return readFileSync(join(repo, 'examples/readme-example.ts'), 'utf8').replace(/^(\/\/.*\n)+\n/, '');
}

/**
 * A Gemm (y = x W^T + b) ONNX model and what it computes for `x`, in
 * float64: the reference for the model's output in the browser.
 */
const W = [[0.5, -1, 2], [1.5, 0.25, -0.75]];
const B = [0.125, -0.5];
const X = [1, 2, 3];
const expectedY = W.map((row, j) => row.reduce((s, w, k) => s + w * X[k]!, B[j]!));
function gemmModel(): Uint8Array {
  const info = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  return onnx.ModelProto.encode({
    irVersion: 7, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'gemm',
      node: [{ opType: 'Gemm', name: 'fc', input: ['x', 'W', 'b'], output: ['y'], attribute: [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] }],
      initializer: [
        { name: 'W', dims: [2, 3], dataType: onnx.TensorProto.DataType.FLOAT, floatData: W.flat() },
        { name: 'b', dims: [2], dataType: onnx.TensorProto.DataType.FLOAT, floatData: B },
      ],
      input: [info('x', [1, 3])],
      output: [info('y', [1, 2])],
    },
  }).finish();
}

/** A static file server for the app's built pages (WebGPU needs a secure context: 127.0.0.1 is one). */
async function serve(root: string): Promise<{ server: Server; origin: string }> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.onnx': 'application/octet-stream' };
  const s = createServer((req, res) => {
    const path = join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    try {
      const body = readFileSync(path.startsWith(root) ? path : root);
      res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((done) => s.listen(0, '127.0.0.1', done));
  const address = s.address();
  if (!address || typeof address === 'string') throw new Error('static server: no port');
  return { server: s, origin: `http://127.0.0.1:${address.port}` };
}

/** Bundles one page of the app with Vite (minified, as `vite build` does); returns its JS files and their sizes. */
async function bundle(name: string, entry: string) {
  writeFileSync(join(app, `${name}.html`), `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>${name}</title><script type="module" src="./${entry}"></script>\n`);
  const outDir = join(app, 'dist', name);
  await build({
    root: app, base: './', configFile: false, logLevel: 'warn',
    build: { outDir, emptyOutDir: true, target: 'es2022', minify: 'esbuild', rollupOptions: { input: join(app, `${name}.html`) } },
  });
  const js = readdirSync(join(outDir, 'assets')).filter((f) => f.endsWith('.js')).map((file) => {
    const code = readFileSync(join(outDir, 'assets', file));
    return { file, code: code.toString('utf8'), bytes: code.length, gzip: gzipSync(code).length };
  });
  const html = readFileSync(join(outDir, `${name}.html`), 'utf8');
  const entryFile = js.find((f) => html.includes(`/assets/${f.file}`));
  if (!entryFile) throw new Error(`${name}: the built page loads none of ${js.map((f) => f.file)}`);
  return { js, entry: entryFile };
}

/** Opens a built page; resolves with what it put on `globalThis[key]`, failing at its first error. */
async function runPage(page: Page, path: string, key: string): Promise<Record<string, unknown>> {
  const errors: string[] = [];
  const failed = new Promise<never>((_, reject) => {
    page.on('pageerror', (err) => reject(new Error(`${path}: ${err.message}`)));
  });
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
  await page.goto(`${origin}/${path}`);
  await Promise.race([failed, page.waitForFunction((k) => (globalThis as Record<string, unknown>)[k] !== undefined, key, { timeout: 90_000 })]);
  expect(errors, `${path}: console errors`).toEqual([]);
  return page.evaluate((k) => (globalThis as Record<string, unknown>)[k] as Record<string, unknown>, key);
}

/** Text in protobufjs's Reader: marks the ONNX decoder's code in a bundle. */
const PROTOBUF_CODE = 'index out of range';

const kB = (bytes: number) => Math.round(bytes / 100) / 10;
const sizes: Record<string, { minified: number; gzip: number; files: number }> = {};

test.beforeAll(async () => {
  test.setTimeout(180_000);
  const work = mkdtempSync(join(tmpdir(), 'deconvnet-package-'));
  // `npm pack` runs prepack: a fresh dist/ from tsc.
  // Some npm versions print prepack's own output before the JSON.
  const packOutput = run('npm', ['pack', '--json', '--pack-destination', work], repo);
  const packed = JSON.parse(packOutput.slice(packOutput.search(/^\[/m))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = packed[0]!.files.map((f) => f.path);
  expect(files).toContain('dist/src/index.js');
  expect(files).toContain('dist/src/index.d.ts');
  expect(files).toContain('dist/src/index.js.map');
  expect(files).toContain('LICENSE');
  expect(files.filter((f) => /^(test|e2e|demo|bench|scripts)\//.test(f)), 'tests, the demo, benchmarks and scripts stay out of the package').toEqual([]);

  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer-app', private: true, type: 'module' }, null, 2));
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, packed[0]!.filename), '@webgpu/types'], app);
  writeFileSync(join(app, 'model.onnx'), gemmModel());
  ({ server, origin } = await serve(join(app, 'dist')));
});

test.afterAll(async () => {
  await new Promise((done) => (server ? server.close(done) : done(undefined)));
  if (app) rmSync(dirname(app), { recursive: true, force: true });
  if (Object.keys(sizes).length) {
    const lines = Object.entries(sizes).map(([what, s]) => `${what}: ${kB(s.minified)} kB minified, ${kB(s.gzip)} kB gzip (${s.files} file${s.files > 1 ? 's' : ''})`);
    console.log(`Bundle sizes (Vite, minified):\n  ${lines.join('\n  ')}`);
  }
});

test('plain Node ESM imports the package: exports, CPU functions, ONNX decoding, typed errors', () => {
  const script = `
    import * as m from 'deconvnet-webgpu';
    import * as dom from 'deconvnet-webgpu/dom';
    import { gzipSync } from 'node:zlib';
    import { readFileSync } from 'node:fs';
    const out = { dom: typeof dom.drawImage };
    out.functions = ['createRuntime', 'createModel', 'createDeconvNet', 'loadModel', 'importOnnx', 'onnxSpec', 'projectionToImage', 'parseIdx'].filter((n) => typeof m[n] === 'function');
    // An IDX file written here from the format (magic 0x0803, big-endian dims), gzipped by zlib.
    const idx = Buffer.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3, 10, 20, 30, 40, 50, 60]);
    const parsed = m.parseIdx(await m.gunzip(new Uint8Array(gzipSync(idx))));
    out.idx = { shape: parsed.shape, data: Array.from(parsed.data) };
    const spec = await m.onnxSpec(new Uint8Array(readFileSync('model.onnx')), { fileName: 'model.onnx' });
    const fc = spec.spec.nodes[0].layer;
    out.onnx = { inputs: spec.spec.inputs, kind: fc.constructor.name, kernel: Array.from(fc.options.kernel), bias: Array.from(fc.options.bias) };
    try { await m.createRuntime(); } catch (e) { out.noGpu = { deconvNetError: e instanceof m.DeconvNetError, name: e.name }; }
    console.log(JSON.stringify(out));
  `;
  const out = JSON.parse(run('node', ['--input-type=module', '-e', script], app));
  expect(out.functions).toEqual(['createRuntime', 'createModel', 'createDeconvNet', 'loadModel', 'importOnnx', 'onnxSpec', 'projectionToImage', 'parseIdx']);
  expect(out.dom, 'the ./dom subpath').toBe('function');
  expect(out.idx).toEqual({ shape: [2, 1, 3], data: [10, 20, 30, 40, 50, 60] });
  expect(out.onnx).toEqual({ inputs: [{ name: 'x', shape: [3] }], kind: 'Dense', kernel: W.flat(), bias: B });
  expect(out.noGpu, 'Node has no navigator.gpu: a typed error').toEqual({ deconvNetError: true, name: 'DeviceLostError' });
});

test('the README example type-checks against the package, bundles with Vite and runs in Chromium', async ({ page }) => {
  const example = exampleFile();
  expect(example, 'examples/readme-example.ts is the README\'s "## Example" (update one from the other)').toBe(readmeExample());

  // The app's code: the example as is, then a few lines reporting what it computed.
  writeFileSync(join(app, 'readme-example.ts'), `${example}
// What the page reports back (added by the test).
const greyLevels = new Set<number>();
for (let i = 0; i < picture.data.length; i += 4) greyLevels.add(picture.data[i]!);
(globalThis as { __example?: object }).__example = {
  shape, finite: data.every(Number.isFinite), nonZero: data.filter((v) => v !== 0).length,
  picture: [picture.width, picture.height, picture.data.length], greyLevels: greyLevels.size,
};
`);
  // create-vite's TypeScript settings, but the package's .d.ts checked too
  // (skipLibCheck off): they must need no more than @webgpu/types (the
  // optional peer) and the `using` declarations' lib (Symbol.dispose).
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM', 'DOM.Iterable', 'ESNext.Disposable'],
      types: ['@webgpu/types'], strict: true, noEmit: true, skipLibCheck: false,
    },
    include: ['readme-example.ts'],
  }));
  // The repo's TypeScript, reading only the app's node_modules.
  run('node', [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);

  const built = await bundle('readme', 'readme-example.ts');
  sizes['README example'] = {
    minified: built.js.reduce((s, f) => s + f.bytes, 0), gzip: built.js.reduce((s, f) => s + f.gzip, 0), files: built.js.length,
  };
  expect(built.js.some((f) => f.code.includes(PROTOBUF_CODE)), 'no ONNX decoder in an app that never loads ONNX').toBe(false);

  const result = await runPage(page, 'readme/readme.html', '__example');
  expect(result.shape).toEqual([2, 3, 64, 64]);
  expect(result.finite).toBe(true);
  expect(result.nonZero as number, 'the projection reaches the pixels').toBeGreaterThan(100);
  expect(result.picture).toEqual([64, 64, 64 * 64 * 4]);
  expect(result.greyLevels as number, 'the picture is not blank').toBeGreaterThan(10);
});

test('createRuntime alone bundles small: tree-shaken, no shaders, no ONNX decoder', async () => {
  writeFileSync(join(app, 'runtime-only.ts'), `import { createRuntime } from 'deconvnet-webgpu';\n(globalThis as { createRuntime?: unknown }).createRuntime = createRuntime;\n`);
  const built = await bundle('runtime', 'runtime-only.ts');
  const minified = built.js.reduce((s, f) => s + f.bytes, 0);
  sizes['createRuntime alone'] = { minified, gzip: built.js.reduce((s, f) => s + f.gzip, 0), files: built.js.length };
  const code = built.js.map((f) => f.code).join('\n');
  expect(code).not.toContain(PROTOBUF_CODE);
  expect(code, 'no conv shader in it').not.toContain('@compute');
  expect(sizes['README example']?.minified ?? Infinity, 'the README example (model, layers, shaders) is larger').toBeGreaterThan(minified);
});

test('loadModel bundled with Vite decodes an ONNX file in Chromium, the decoder in a chunk of its own', async ({ page }) => {
  writeFileSync(join(app, 'onnx-app.ts'), `import { createRuntime, loadModel } from 'deconvnet-webgpu';
const runtime = await createRuntime();
const { model, format } = await loadModel(runtime, '/model.onnx');
const fwd = await model.forward(Float32Array.of(${X.join(', ')}));
(globalThis as { __onnx?: object }).__onnx = { format, y: Array.from(await fwd.readOutput()) };
fwd.release(); model.destroy(); runtime.destroy();
`);
  const built = await bundle('onnx', 'onnx-app.ts');
  writeFileSync(join(app, 'dist', 'model.onnx'), gemmModel());
  const decoder = built.js.filter((f) => f.code.includes(PROTOBUF_CODE));
  expect(decoder.length, 'the ONNX decoder is bundled').toBe(1);
  expect(decoder[0]!.file, 'and split from the entry (loaded at the first ONNX load)').not.toBe(built.entry.file);
  sizes['ONNX decoder chunk (loaded by the first ONNX import)'] = { minified: decoder[0]!.bytes, gzip: decoder[0]!.gzip, files: 1 };

  const fetched: string[] = [];
  page.on('request', (r) => fetched.push(new URL(r.url()).pathname));
  const result = await runPage(page, 'onnx/onnx.html', '__onnx');
  expect(result.format).toBe('onnx');
  const y = result.y as number[];
  expect(y.length).toBe(2);
  y.forEach((v, i) => expect(v).toBeCloseTo(expectedY[i]!, 5));
  expect(fetched).toContain(`/onnx/assets/${decoder[0]!.file}`);
});
