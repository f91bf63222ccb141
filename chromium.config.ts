// Where the tests find a Chromium with WebGPU. Nothing is downloaded: the
// tests use CHROMIUM_PATH if set, else the first Chrome/Chromium found at the
// usual install places or on PATH (`npm test` checks this first, see
// scripts/check-browser.ts). WEBGPU_ADAPTER=swiftshader (default) uses the CPU
// Vulkan implementation shipped with Chromium; set WEBGPU_ADAPTER=gpu on a
// machine with a real GPU to test on it.
import { accessSync, constants, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Install places of Chrome and Chromium on this platform (Debian's `chromium` first: CI installs it). */
const INSTALL_PLACES: Record<string, string[]> = {
  linux: [
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
    '/usr/bin/google-chrome-stable',
    '/opt/google/chrome/chrome',
    '/snap/bin/chromium',
  ],
  darwin: [
    '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
  ],
  win32: [
    'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
    'C:\\Program Files (x86)\\Google\\Chrome\\Application\\chrome.exe',
  ],
};
export const CHROMIUM_CANDIDATES = INSTALL_PLACES[process.platform] ?? INSTALL_PLACES.linux!;

/** Names looked up on PATH after the fixed places. */
export const CHROMIUM_COMMANDS = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'];

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir && isExecutableFile(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

export type ChromiumLookup = { path: string } | { path: undefined; problem: string };

/**
 * The browser the tests will launch, or one line saying where it looked and
 * how to get one. A CHROMIUM_PATH that is set but wrong is reported as such,
 * never silently replaced by another browser.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): ChromiumLookup {
  const given = env.CHROMIUM_PATH;
  if (given) {
    return isExecutableFile(given)
      ? { path: given }
      : { path: undefined, problem: `CHROMIUM_PATH=${given} is not an executable file: point it at a Chrome or Chromium binary (e.g. /usr/bin/chromium), or unset it to search ${CHROMIUM_CANDIDATES[0]} and the other usual places.` };
  }
  const found = CHROMIUM_CANDIDATES.find(isExecutableFile) ?? CHROMIUM_COMMANDS.map((c) => onPath(c, env.PATH ?? '')).find((p) => p !== undefined);
  if (found) return { path: found };
  return {
    path: undefined,
    problem: `No Chrome or Chromium found for the tests (looked for CHROMIUM_PATH, ${CHROMIUM_CANDIDATES.join(', ')}, and ${CHROMIUM_COMMANDS.join('/')} on PATH): install one (Debian/Ubuntu: apt-get install chromium; or Google Chrome), or set CHROMIUM_PATH=/path/to/chrome.`,
  };
}

const lookup = findChromium();
/** The browser to launch; where none is found, the first usual place (scripts/check-browser.ts reports it before any test starts). */
export const chromiumPath = lookup.path ?? process.env.CHROMIUM_PATH ?? CHROMIUM_CANDIDATES[0]!;

export const chromiumArgs = [
  '--enable-unsafe-webgpu',
  ...(process.env.WEBGPU_ADAPTER === 'gpu' ? [] : ['--use-webgpu-adapter=swiftshader']),
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export function freshProfileDir(): string {
  return mkdtempSync(join(tmpdir(), 'deconvnet-chromium-'));
}
