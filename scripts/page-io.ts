// The page side of scripts/chromium-runner.ts: Node's file functions, exposed to the page.
declare global {
  interface Window {
    nodeReadFile(path: string): Promise<string>;
    nodeWriteFile(path: string, base64: string): Promise<void>;
  }
}

export async function readBytes(path: string): Promise<Uint8Array> {
  const base64 = await window.nodeReadFile(path);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

export async function writeBytes(path: string, bytes: Uint8Array): Promise<void> {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  await window.nodeWriteFile(path, btoa(binary));
}

export async function writeText(path: string, text: string): Promise<void> {
  await writeBytes(path, new TextEncoder().encode(text));
}
