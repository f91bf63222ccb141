// One declaration per kernel describes its uniform `Params` struct. The WGSL
// struct text and the byte packing on the TypeScript side are both generated
// from it, so the shader and the host can never disagree about the layout.
// Every field is a 4-byte scalar, so the layout is simply field order * 4.

export type ScalarType = 'u32' | 'i32' | 'f32';

export interface ParamsLayout<K extends string> {
  readonly fields: Readonly<Record<K, ScalarType>>;
  /** WGSL `struct Params { ... }` declaration. */
  readonly struct: string;
  /** Bytes of the packed struct, padded to 16 for uniform buffers. */
  readonly byteSize: number;
  pack(values: Record<K, number>): ArrayBuffer;
}

export function defineParams<K extends string>(fields: Record<K, ScalarType>): ParamsLayout<K> {
  const names = Object.keys(fields) as K[];
  const struct = `struct Params {\n${names.map((n) => `  ${n}: ${fields[n]},`).join('\n')}\n}`;
  const byteSize = Math.max(16, Math.ceil((names.length * 4) / 16) * 16);
  return {
    fields,
    struct,
    byteSize,
    pack(values) {
      const buf = new ArrayBuffer(byteSize);
      const view = new DataView(buf);
      names.forEach((name, i) => {
        const v = values[name];
        if (v === undefined || Number.isNaN(v)) throw new Error(`params: field "${name}" is ${v}`);
        const type = fields[name];
        if (type === 'f32') view.setFloat32(i * 4, v, true);
        else if (type === 'i32') view.setInt32(i * 4, v, true);
        else view.setUint32(i * 4, v, true);
      });
      return buf;
    },
  };
}

/**
 * Flat invocation index for 1-D element-wise kernels dispatched as a 2-D grid
 * (see `dispatch1d` in src/gpu/recorder.ts): dispatches over 65535 workgroups
 * wrap into y.
 */
export function flatIndexFn(workgroupSize: number): string {
  return `fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${workgroupSize}u; }`;
}
