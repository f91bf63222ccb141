// The weights half of a TF.js `model.json`: its weightsManifest (groups of
// shard paths, each group holding named weights back to back) and the shard
// bytes. Everything here is checked against the manifest before any layer is
// built, so a missing, short or corrupt shard is reported as a FormatError
// naming the file, the shard and the weight, never as a wrong model.
import { FormatError, ShapeError, UnsupportedError } from '../../gpu/errors.js';

/** One weight as the manifest describes it and as its bytes decode. */
export interface TfjsWeight {
  name: string;
  /** Channels-last Keras shape, as stored. */
  shape: number[];
  /** Where its bytes came from, for error messages. */
  where: string;
  /** Decoded lazily (and checked for NaN/Inf then), so unused weights cost nothing. */
  values(): Float32Array;
}

/** Shard bytes: in manifest path order, or keyed by path. */
export type WeightBuffers = ReadonlyArray<ArrayBuffer | ArrayBufferView> | ReadonlyMap<string, ArrayBuffer | ArrayBufferView> | Readonly<Record<string, ArrayBuffer | ArrayBufferView>>;

interface ManifestEntry { name: string; shape: number[]; dtype: string; quantization?: { dtype: string; scale?: number; min?: number } }
interface ManifestGroup { paths: string[]; weights: ManifestEntry[] }

/** Largest element count we accept for one weight or one per-image tensor: 2^31 - 1, past any device binding. */
export const MAX_ELEMENTS = 0x7fffffff;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every shard path of the manifest, each once, in manifest order: what a loader must fetch. */
export function manifestPaths(manifest: unknown, file: string): string[] {
  return parseManifest(manifest, file).flatMap((g) => g.paths).filter((p, i, all) => all.indexOf(p) === i);
}

function parseManifest(manifest: unknown, file: string): ManifestGroup[] {
  if (manifest === undefined) return [];
  if (!Array.isArray(manifest)) throw new FormatError(`${file}: weightsManifest is not a list of weight groups`);
  return manifest.map((group, g) => {
    const where = `${file}: weightsManifest[${g}]`;
    if (!isObject(group)) throw new FormatError(`${where} is not an object`);
    const { paths, weights } = group;
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string' && p.length > 0)) {
      throw new FormatError(`${where}.paths is not a list of shard file names`);
    }
    if (!Array.isArray(weights)) throw new FormatError(`${where}.weights is not a list`);
    const entries = weights.map((w, k): ManifestEntry => {
      if (!isObject(w) || typeof w.name !== 'string' || !Array.isArray(w.shape) || typeof w.dtype !== 'string') {
        throw new FormatError(`${where}.weights[${k}] is not a {name, shape, dtype} entry`);
      }
      if (!w.shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
        throw new FormatError(`${where}: weight "${w.name}" has shape ${JSON.stringify(w.shape)}, not a list of integers >= 0`);
      }
      let quantization: ManifestEntry['quantization'];
      if (w.quantization !== undefined && w.quantization !== null) {
        const q = w.quantization;
        if (!isObject(q) || typeof q.dtype !== 'string') throw new FormatError(`${where}: weight "${w.name}" has a malformed quantization entry`);
        quantization = { dtype: q.dtype, scale: q.scale as number | undefined, min: q.min as number | undefined };
      }
      return { name: w.name, shape: w.shape as number[], dtype: w.dtype, quantization };
    });
    return { paths: paths as string[], weights: entries };
  });
}

function bytesPerElement(e: ManifestEntry, where: string): number {
  const stored = e.quantization?.dtype ?? e.dtype;
  switch (stored) {
    case 'float32': case 'int32': case 'uint32': return 4;
    case 'float16': case 'uint16': case 'int16': return 2;
    case 'uint8': case 'int8': case 'bool': return 1;
    default: throw new UnsupportedError(`${where}: weight "${e.name}" has dtype "${stored}"; float32 (also int32, float16 and uint8/uint16-quantized float32) weights are supported`);
  }
}

function asBytes(b: ArrayBuffer | ArrayBufferView): Uint8Array {
  return b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function shardBytes(buffers: WeightBuffers, paths: readonly string[], path: string, file: string): Uint8Array {
  let b: ArrayBuffer | ArrayBufferView | undefined;
  if (Array.isArray(buffers)) b = buffers[paths.indexOf(path)];
  else if (buffers instanceof Map) b = buffers.get(path);
  else b = Object.prototype.hasOwnProperty.call(buffers, path) ? (buffers as Record<string, ArrayBuffer>)[path] : undefined;
  if (!b || !(b instanceof ArrayBuffer || ArrayBuffer.isView(b))) throw new FormatError(`${file}: weight shard "${path}" is missing`);
  return asBytes(b);
}

/** IEEE half to float. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function decode(e: ManifestEntry, bytes: Uint8Array, count: number, where: string): Float32Array {
  // Copy to an aligned buffer: shard offsets need not be multiples of 4.
  const raw = bytes.slice();
  const view = new DataView(raw.buffer);
  const out = new Float32Array(count);
  const q = e.quantization;
  if (q) {
    if (e.dtype !== 'float32') throw new UnsupportedError(`${where}: quantized weight "${e.name}" restores to ${e.dtype}; only float32 is supported`);
    if (q.dtype === 'float16') {
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
    } else if (q.dtype === 'uint8' || q.dtype === 'uint16') {
      const { scale, min } = q;
      if (typeof scale !== 'number' || typeof min !== 'number' || !Number.isFinite(scale) || !Number.isFinite(min)) {
        throw new FormatError(`${where}: quantized weight "${e.name}" needs finite scale and min, got ${JSON.stringify(q)}`);
      }
      for (let i = 0; i < count; i++) out[i] = (q.dtype === 'uint8' ? raw[i]! : view.getUint16(2 * i, true)) * scale + min;
    } else {
      throw new UnsupportedError(`${where}: weight "${e.name}" is quantized as ${q.dtype}; float16, uint8 and uint16 are supported`);
    }
  } else if (e.dtype === 'float32') {
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  } else if (e.dtype === 'int32') {
    // Exact up to 2^24, which covers the small integer tables Keras stores this way.
    for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
  } else {
    throw new UnsupportedError(`${where}: weight "${e.name}" has dtype "${e.dtype}"; float32 and int32 weights are supported`);
  }
  const bad = out.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new FormatError(`${where}: weight "${e.name}" element ${bad} is ${out[bad]}`);
  return out;
}

/**
 * Slices the shards into named weights. Each group's shards, concatenated
 * in order, must hold exactly its weights' bytes: tfjs writes them that way,
 * and any other size means a missing, truncated or foreign shard.
 */
export function readWeights(manifest: unknown, buffers: WeightBuffers, file: string): Map<string, TfjsWeight> {
  const groups = parseManifest(manifest, file);
  const allPaths = groups.flatMap((g) => g.paths).filter((p, i, all) => all.indexOf(p) === i);
  const out = new Map<string, TfjsWeight>();
  groups.forEach((group, g) => {
    const shards = group.paths.map((p) => shardBytes(buffers, allPaths, p, file));
    const total = shards.reduce((s, b) => s + b.byteLength, 0);
    const shardList = group.paths.map((p, k) => `"${p}" (${shards[k]!.byteLength} bytes)`).join(', ');
    let need = 0;
    const sized = group.weights.map((e) => {
      const count = e.shape.reduce((a, d) => a * d, 1);
      if (count > MAX_ELEMENTS) throw new ShapeError(`${file}: weight "${e.name}" [${e.shape}] has ${count} elements, over the ${MAX_ELEMENTS} supported`);
      const bytes = count * bytesPerElement(e, file);
      const start = need;
      need += bytes;
      return { e, count, start, bytes };
    });
    if (total !== need) {
      throw new FormatError(`${file}: weight group ${g} has ${total} bytes in shards ${shardList}; its ${group.weights.length} weights need ${need}`);
    }
    // One contiguous view of the group only when it spans several shards.
    let joined: Uint8Array | null = shards.length === 1 ? shards[0]! : null;
    const groupBytes = () => {
      if (!joined) {
        joined = new Uint8Array(total);
        let at = 0;
        for (const s of shards) { joined.set(s, at); at += s.byteLength; }
      }
      return joined;
    };
    for (const { e, count, start, bytes } of sized) {
      if (out.has(e.name)) throw new FormatError(`${file}: weight "${e.name}" appears twice in the weightsManifest`);
      const where = `${file}: shards ${group.paths.map((p) => `"${p}"`).join(', ')} bytes ${start}..${start + bytes}`;
      let cached: Float32Array | null = null;
      out.set(e.name, {
        name: e.name, shape: e.shape, where,
        values: () => (cached ??= decode(e, groupBytes().subarray(start, start + bytes), count, where)),
      });
    }
  });
  return out;
}
