// What a model file may say about itself besides its graph: its class names
// and the preprocessing it was trained with. ONNX keeps such strings in
// ModelProto.metadata_props, TF.js in model.json's userDefinedMetadata, our
// own manifest in its metadata. Keys read: "class_names" / "classNames" /
// "classes" / "labels" (a list, or the text of a names file) and
// "preprocessing" (an object or its JSON: scale, mean, std, channelOrder).
import { FormatError } from '../gpu/errors.js';
import { parseClassNames } from './class_names.js';
import type { Preprocessing } from '../data/preprocessing.js';

export interface ModelHints {
  classNames?: string[];
  preprocessing?: Preprocessing;
}

const NAME_KEYS = ['class_names', 'classNames', 'classes', 'labels'];

/** Class names and preprocessing from a metadata record (values may be JSON text); FormatError when present but malformed. */
export function modelHints(meta: Record<string, unknown> | undefined, source: string): ModelHints {
  if (!meta || typeof meta !== 'object') return {};
  const hints: ModelHints = {};
  const nameKey = NAME_KEYS.find((k) => meta[k] !== undefined);
  if (nameKey) {
    const value = meta[nameKey];
    hints.classNames = parseClassNames(typeof value === 'string' ? value : JSON.stringify(value), `${source}: metadata "${nameKey}"`);
  }
  if (meta.preprocessing !== undefined) hints.preprocessing = parsePreprocessing(meta.preprocessing, `${source}: metadata "preprocessing"`);
  return hints;
}

/** A Preprocessing from an object or its JSON text; every field optional (defaults: pixels / 255, RGB). */
export function parsePreprocessing(value: unknown, where: string): Preprocessing {
  let v = value;
  if (typeof v === 'string') {
    try { v = JSON.parse(v); } catch (e) { throw new FormatError(`${where}: not valid JSON (${(e as Error).message})`); }
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new FormatError(`${where}: expected an object { scale, mean, std, channelOrder }`);
  const o = v as Record<string, unknown>;
  const scale = o.scale ?? 1;
  if (scale !== 1 && scale !== 255) throw new FormatError(`${where}: scale is ${JSON.stringify(scale)}; expected 1 or 255`);
  const numbers = (key: string, fallback: number): number[] => {
    const x = o[key] ?? [fallback];
    const list = typeof x === 'number' ? [x] : x;
    if (!Array.isArray(list) || list.length === 0 || list.some((n) => typeof n !== 'number' || !Number.isFinite(n))) {
      throw new FormatError(`${where}: ${key} is ${JSON.stringify(x)}; expected a number or a list of numbers`);
    }
    return list as number[];
  };
  const order = String(o.channelOrder ?? o.channel_order ?? 'rgb').toLowerCase();
  if (order !== 'rgb' && order !== 'bgr') throw new FormatError(`${where}: channelOrder is "${order}"; expected "rgb" or "bgr"`);
  const std = numbers('std', 1);
  if (std.some((s) => s === 0)) throw new FormatError(`${where}: std has a zero`);
  return { scale, mean: numbers('mean', 0), std, channelOrder: order };
}

/**
 * ONNX ModelProto.metadata_props (field 14, StringStringEntryProto { key = 1,
 * value = 2 }) read by walking the top-level protobuf fields, skipping the
 * graph without decoding it. Unreadable bytes give {} (the importer reports them).
 */
export function onnxMetadataProps(bytes: Uint8Array): Record<string, string> {
  const props: Record<string, string> = {};
  try {
    for (const field of fields(bytes)) {
      if (field.number !== 14 || !field.bytes) continue;
      let key = '', value = '';
      for (const f of fields(field.bytes)) {
        if (f.number === 1 && f.bytes) key = new TextDecoder().decode(f.bytes);
        if (f.number === 2 && f.bytes) value = new TextDecoder().decode(f.bytes);
      }
      if (key) props[key] = value;
    }
  } catch {
    return {};
  }
  return props;
}

/** The fields of one protobuf message: number and, for length-delimited ones, their bytes. */
function* fields(buf: Uint8Array): Generator<{ number: number; bytes?: Uint8Array }> {
  let at = 0;
  const varint = (): number => {
    let result = 0, shift = 0;
    for (;;) {
      if (at >= buf.length) throw new RangeError('truncated varint');
      const b = buf[at++]!;
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
      if (shift > 63) throw new RangeError('varint too long');
    }
  };
  while (at < buf.length) {
    const tag = varint();
    const number = Math.floor(tag / 8), wire = tag & 7;
    if (wire === 0) { varint(); yield { number }; }
    else if (wire === 1) { at += 8; yield { number }; }
    else if (wire === 5) { at += 4; yield { number }; }
    else if (wire === 2) {
      const length = varint();
      if (at + length > buf.length) throw new RangeError('truncated field');
      yield { number, bytes: buf.subarray(at, (at += length)) };
    } else throw new RangeError(`wire type ${wire}`);
  }
}
