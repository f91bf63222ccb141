// npm run conformance [-- DIR] [--timeout SECONDS]
//
// Runs every ONNX test case under DIR (default ../shared/onnx-conformance;
// any folder holding a model.onnx is a case, with test_data_set_*/input_N.pb
// and output_N.pb) through the importer on WebGPU in headless Chromium, one
// line per case, ending with `N passed, M failed`; exit code 1 when anything
// failed. Every data set of a case is run and compared with ONNX's rule
// (test/onnx/case.ts). The files are served to the page by the Vite server,
// so models of hundreds of MB travel as bytes. A case that runs past the
// timeout (default 600 s) fails, and the next case gets a fresh browser: the
// stuck page may be waiting on the GPU process, which a new page would share.
import { createReadStream, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type Plugin, type ViteDevServer } from 'vite';
import { chromium, type BrowserContext, type Page } from 'playwright';
import { chromiumPath, chromiumArgs, freshProfileDir } from '../chromium.config.js';
import { discoverCases, type CaseFiles } from './conformance-cases.js';
import type { PageCase, PageResult } from './conformance-page.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FILE_ROUTE = '/__conformance/';
const PAGE_MODULE = '/scripts/conformance-page.ts';

function usage(message?: string): never {
  if (message) console.error(message);
  console.error('usage: npm run conformance [-- DIR] [--timeout SECONDS]  (DIR defaults to ../shared/onnx-conformance)');
  process.exit(2);
}

function parseArgs(argv: string[]): { dir: string; timeoutS: number } {
  let dir: string | null = null, timeoutS = 600;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') usage();
    else if (a === '--timeout') {
      timeoutS = Number(argv[++i]);
      if (!(timeoutS > 0)) usage(`--timeout takes a positive number of seconds, not ${argv[i]}`);
    } else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else if (dir === null) dir = a;
    else usage(`one DIR only (got ${dir} and ${a})`);
  }
  return { dir: dir ?? '../shared/onnx-conformance', timeoutS };
}

/**
 * Serves the cases' files at /__conformance/<n> (only those: a fixed table
 * of paths, nothing taken from the URL), and stands in for `vitest/browser`,
 * which test/onnx/load.ts imports for its browser commands and which throws
 * outside vitest; the page uses only load.ts's decodeTensor.
 */
function conformancePlugin(files: string[]): Plugin {
  const stub = '\0conformance:vitest-browser';
  return {
    name: 'conformance-files',
    enforce: 'pre', // before Vite's own resolver, which would find vitest's file
    resolveId: (id) => (id === 'vitest/browser' ? stub : null),
    load: (id) => (id === stub ? 'export const commands = null, page = null, server = null, userEvent = null, cdp = null, locators = null, utils = null;' : null),
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if (!req.url?.startsWith(FILE_ROUTE)) return next();
        const path = files[Number(req.url.slice(FILE_ROUTE.length))];
        if (!path) {
          res.statusCode = 404;
          res.end('no such file');
          return;
        }
        try {
          res.setHeader('Content-Length', statSync(path).size);
        } catch (e) {
          res.statusCode = 404;
          res.end((e as Error).message);
          return;
        }
        res.setHeader('Content-Type', 'application/octet-stream');
        res.setHeader('Cache-Control', 'no-store');
        createReadStream(path).on('error', (e) => res.destroy(e)).pipe(res);
      });
    },
  };
}

/** The page's view of a case: every file as a URL of the route above. */
function pageCase(c: CaseFiles, files: string[]): PageCase {
  const url = (path: string) => `${FILE_ROUTE}${files.push(path) - 1}`;
  return {
    name: c.name,
    model: url(c.model),
    dataSets: c.dataSets.map((d) => ({ name: d.name, inputs: d.inputs.map(url), outputs: d.outputs.map(url) })),
  };
}

/** One browser with one page that has imported conformance-page.ts. */
class Session {
  #crashed: Promise<never>;

  private constructor(readonly context: BrowserContext, readonly page: Page) {
    this.#crashed = new Promise<never>((_, reject) => {
      page.on('crash', () => reject(new Error('the page crashed')));
      page.on('close', () => reject(new Error('the page closed')));
    });
    this.#crashed.catch(() => {});
  }

  static async start(origin: string): Promise<Session> {
    const context = await chromium.launchPersistentContext(freshProfileDir(), { executablePath: chromiumPath, args: chromiumArgs, headless: true });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('console', (msg) => {
        if (msg.type() === 'error' || msg.type() === 'warning') console.error(`  [page] ${msg.text()}`);
      });
      page.on('pageerror', (err) => console.error(`  [page error] ${err.message}`));
      await page.goto(`${origin}/scripts/runner.html`);
      await page.evaluate((module) => import(/* @vite-ignore */ module).then(() => undefined), PAGE_MODULE);
      return new Session(context, page);
    } catch (e) {
      await context.close().catch(() => {});
      throw e;
    }
  }

  /** The case's result, or a failure message when it timed out, crashed the page, or the page could not run it. */
  async run(c: PageCase, timeoutS: number): Promise<PageResult | { broken: string }> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<{ broken: string }>((done) => {
      timer = setTimeout(() => done({ broken: `timed out after ${timeoutS} s` }), timeoutS * 1000);
    });
    const evaluated = this.page.evaluate(async ({ module, spec }) => {
      const m: typeof import('./conformance-page.js') = await import(/* @vite-ignore */ module);
      return m.runCase(spec);
    }, { module: PAGE_MODULE, spec: c });
    evaluated.catch(() => {});
    try {
      return await Promise.race([evaluated, timeout, this.#crashed]);
    } catch (e) {
      return { broken: (e as Error).message.split('\n')[0]! };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the browser; one whose page hangs is given 20 s and then left to Playwright's own kill on exit. */
  async close(): Promise<void> {
    await Promise.race([this.context.close().catch(() => {}), new Promise((done) => setTimeout(done, 20_000))]);
  }
}

function fmt(x: number): string {
  return Number.isNaN(x) ? '-' : x.toExponential(2);
}

async function main(): Promise<number> {
  const { dir, timeoutS } = parseArgs(process.argv.slice(2));
  let cases: CaseFiles[];
  try {
    cases = discoverCases(dir);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  if (cases.length === 0) {
    console.error(`${dir}: no ONNX test case (a folder holding model.onnx) under it`);
    console.log('0 passed, 0 failed');
    return 1;
  }
  console.log(`${cases.length} case(s) under ${resolve(dir)}, timeout ${timeoutS} s per case`);

  const files: string[] = [];
  const specs = cases.map((c) => pageCase(c, files));
  let server: ViteDevServer | null = null;
  let session: Session | null = null;
  let passed = 0, failed = 0;
  const width = Math.max(...cases.map((c) => c.name.length));
  try {
    server = await createServer({
      root, configFile: false, logLevel: 'warn',
      cacheDir: 'node_modules/.vite-conformance',
      server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
      optimizeDeps: { include: ['onnx-proto', 'wgsl-preprocessor/wgsl-preprocessor.js'] },
      plugins: [conformancePlugin(files)],
    });
    await server.listen();
    const address = server.httpServer!.address();
    const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    for (const spec of specs) {
      let started = performance.now();
      let result: PageResult | { broken: string };
      try {
        session ??= await Session.start(origin);
        started = performance.now(); // the browser's start is not the case's time
        result = await session.run(spec, timeoutS);
      } catch (e) {
        result = { broken: `could not start the browser page: ${(e as Error).message.split('\n')[0]}` };
      }
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const name = spec.name.padEnd(width);
      const sets = `${spec.dataSets.length} data set${spec.dataSets.length === 1 ? '' : 's'}`;
      if ('broken' in result) {
        failed++;
        console.log(`${name}  FAIL  ${result.broken}  (${seconds} s)`);
        // Whatever the page was doing may still hold the GPU: start afresh.
        await session?.close();
        session = null;
      } else {
        const errors = `max abs ${fmt(result.maxAbs)}  max rel ${fmt(result.maxRel)}`;
        if (result.pass) passed++;
        else failed++;
        console.log(result.pass
          ? `${name}  pass  ${errors}  (${sets}, ${seconds} s)`
          : `${name}  FAIL  ${Number.isNaN(result.maxAbs) ? '' : `${errors}  `}${result.message}  (${seconds} s)`);
      }
    }
  } finally {
    await session?.close();
    await server?.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main();
