// Copying a texture back in a test (what the library itself never does for a picture).
import type { Runtime } from '../../src/index.js';

/** The texture's pixels as RGBA bytes, rows packed (BGRA formats swapped back). */
export async function readTexture(rt: Runtime, texture: GPUTexture): Promise<Uint8Array> {
  const { width, height } = texture;
  const bytesPerRow = Math.ceil((width * 4) / 256) * 256;
  const buffer = rt.device.createBuffer({ size: bytesPerRow * height, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  const encoder = rt.device.createCommandEncoder();
  encoder.copyTextureToBuffer({ texture }, { buffer, bytesPerRow }, [width, height]);
  rt.device.queue.submit([encoder.finish()]);
  await buffer.mapAsync(GPUMapMode.READ);
  const rows = new Uint8Array(buffer.getMappedRange());
  const out = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) out.set(rows.subarray(y * bytesPerRow, y * bytesPerRow + width * 4), y * width * 4);
  buffer.destroy();
  if (texture.format.startsWith('bgra')) {
    for (let i = 0; i < out.length; i += 4) [out[i], out[i + 2]] = [out[i + 2]!, out[i]!];
  }
  return out;
}

/** A texture the library can draw into and the test can copy back. */
export function renderTarget(rt: Runtime, width: number, height: number, format: GPUTextureFormat = 'rgba8unorm', label = 'target'): GPUTexture {
  return rt.device.createTexture({ label, size: [width, height], format, usage: GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.COPY_SRC });
}
