// The device check in headless Chromium (bench/device.ts starts it through
// scripts/chromium-runner.ts): the JSON goes back to Node after every item.
import { deviceMain, type DeviceArgs, type DeviceReport } from './device-sections.js';

type NodeWrite = (path: string, base64: string) => Promise<void>;

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export async function main(args: DeviceArgs & { out: string }): Promise<Pick<DeviceReport, 'status' | 'seconds'>> {
  const write = (globalThis as unknown as { nodeWriteFile: NodeWrite }).nodeWriteFile;
  const report = await deviceMain({ ...args, host: `${args.host}: ${navigator.userAgent}` }, {
    save: (json) => write(args.out, base64(json)),
    log: (line) => console.log(line),
  });
  return { status: report.status, seconds: report.seconds };
}
