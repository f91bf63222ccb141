// File access of the analysis scripts' `main`s, which run in two hosts: in
// Node (on Dawn, scripts/node-gpu.ts) straight on the file system, or in a
// headless Chromium page (scripts/chromium-runner.ts), through the Node
// functions the runner exposes to the page. Paths are relative to the
// project root (the working directory in Node).
declare global {
  interface Window {
    nodeReadFile(path: string): Promise<string>;
    nodeWriteFile(path: string, base64: string): Promise<void>;
  }
}

const inPage = typeof window !== 'undefined' && typeof window.nodeReadFile === 'function';

/**
 * Imports a Node-only module at run time, hidden from Vite (which would try
 * to pre-bundle it for the page and reload the page when it finds it).
 */
export function nodeImport<T>(name: string): Promise<T> {
  return import(/* @vite-ignore */ name) as Promise<T>;
}

export async function readBytes(path: string): Promise<Uint8Array> {
  if (!inPage) {
    const { readFileSync } = await nodeImport<typeof import('node:fs')>('node:fs');
    return new Uint8Array(readFileSync(path));
  }
  const base64 = await window.nodeReadFile(path);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

export async function writeBytes(path: string, bytes: Uint8Array): Promise<void> {
  if (!inPage) {
    const { writeFileSync, mkdirSync } = await nodeImport<typeof import('node:fs')>('node:fs');
    const { dirname } = await nodeImport<typeof import('node:path')>('node:path');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
    return;
  }
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  await window.nodeWriteFile(path, btoa(binary));
}

export async function writeText(path: string, text: string): Promise<void> {
  await writeBytes(path, new TextEncoder().encode(text));
}
