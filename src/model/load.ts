// One entry point for "load my model": it looks at what it is given (a URL,
// a File/Blob, bytes, or several picked files) and at the bytes themselves,
// and hands them to the ONNX importer, the TF.js Layers importer or the
// library's own model file reader. The format found is part of the result.
import type { Runtime } from '../gpu/runtime.js';
import { DeconvNetError, FormatError } from '../gpu/errors.js';
import type { Model } from './model.js';
import { MODEL_FORMAT, loadSavedModel } from './serialize.js';
import { importOnnx } from './import/onnx.js';
import { importTfjsLayers, isTfjsLayersModelJson } from './import/tfjs_layers.js';
import { modelHints, onnxMetadataProps, type ModelHints } from './metadata.js';
import type { Preprocessing } from '../data/preprocessing.js';

export type ModelFormat = 'onnx' | 'tfjs-layers' | 'deconvnet-webgpu';

/**
 * A URL (of a .onnx file, a TF.js model.json with its shards beside it, or
 * our own manifest .json with its .bin beside it), a File/Blob, the bytes of
 * a .onnx file, or several files picked together (model.json + shards, or
 * manifest + .bin).
 */
export type ModelSource = string | URL | Blob | ArrayBuffer | ArrayBufferView | Iterable<File> | ArrayLike<File>;

export interface LoadModelOptions {
  /** Per-image shapes for ONNX graph inputs with symbolic dimensions. */
  inputShapes?: Record<string, number[]>;
  /** Used for URLs (default: the global fetch). */
  fetch?: typeof fetch;
  /** The normalisation the model was trained with; overrides what the file says. */
  preprocessing?: Preprocessing;
  /** One name per output class; overrides what the file says. */
  classNames?: string[];
}

export interface LoadedModel {
  model: Model;
  /** Which format the bytes were. */
  format: ModelFormat;
  /** The file or URL it came from, as named in errors. */
  source: string;
  /**
   * From the options, else from the file's metadata (ONNX metadata_props,
   * TF.js userDefinedMetadata, our manifest's metadata: see ./metadata.ts),
   * else undefined.
   */
  preprocessing?: Preprocessing;
  classNames?: string[];
}

/** A byte source the importers can ask for sibling files (shards, weights). */
interface Files {
  name: string;
  main: Uint8Array;
  /** A file beside the main one; `what` names it in errors ('weight shard', 'weights'). */
  sibling(path: string, what: string): Promise<Uint8Array>;
}

const bytesOf = (v: ArrayBuffer | ArrayBufferView) => (v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength));

/** JSON when the first non-blank byte is '{'; ONNX protobufs start with a field tag, never '{' (0x7b is field 15, unused by ModelProto). */
function looksLikeJson(bytes: Uint8Array): boolean {
  for (const b of bytes.subarray(0, 64)) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09 || b === 0xef || b === 0xbb || b === 0xbf) continue;
    return b === 0x7b;
  }
  return false;
}

function parseJson(files: Files): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(files.main));
  } catch (e) {
    throw new FormatError(`${files.name}: starts like JSON but is not valid JSON (${(e as Error).message})`);
  }
}

async function fromUrl(source: string | URL, fetchImpl: typeof fetch): Promise<Files> {
  const base = new URL(String(source), typeof location !== 'undefined' ? location.href : undefined);
  const get = async (url: URL, what: string): Promise<Uint8Array> => {
    let res: Response;
    try {
      res = await fetchImpl(url.href);
    } catch (e) {
      throw new FormatError(`${what}: could not be fetched (${(e as Error)?.message ?? String(e)})`);
    }
    if (!res.ok) throw new FormatError(`${what}: HTTP ${res.status} ${res.statusText}`);
    return new Uint8Array(await res.arrayBuffer());
  };
  return {
    name: base.href,
    main: await get(base, base.href),
    sibling: (path, what) => get(new URL(path, base), `${base.href}: ${what} "${path}" (${new URL(path, base).href})`),
  };
}

async function fromFiles(list: File[]): Promise<Files> {
  if (list.length === 0) throw new FormatError('loadModel: no files were given');
  if (list.length === 1) return fromBlob(list[0]!);
  // The main file: a model.json / manifest .json, else the one .onnx.
  const jsons = list.filter((f) => f.name.toLowerCase().endsWith('.json'));
  const onnxFiles = list.filter((f) => f.name.toLowerCase().endsWith('.onnx'));
  const main = jsons.length === 1 ? jsons[0] : jsons.find((f) => f.name === 'model.json') ?? (jsons.length === 0 && onnxFiles.length === 1 ? onnxFiles[0] : undefined);
  if (!main) {
    throw new FormatError(`picked files ${list.map((f) => `"${f.name}"`).join(', ')}: cannot tell which is the model (pick one .onnx, or one model.json with its weight files)`);
  }
  const byName = new Map(list.map((f) => [f.name, f]));
  return {
    name: main.name,
    main: new Uint8Array(await main.arrayBuffer()),
    sibling: async (path, what) => {
      const f = byName.get(path) ?? byName.get(path.split('/').pop()!);
      if (!f) throw new FormatError(`${main.name}: ${what} "${path}" is not among the picked files (${list.map((x) => x.name).join(', ')})`);
      return new Uint8Array(await f.arrayBuffer());
    },
  };
}

async function fromBlob(blob: Blob): Promise<Files> {
  const name = (blob as File).name || 'model';
  return {
    name,
    main: new Uint8Array(await blob.arrayBuffer()),
    sibling: async (path, what) => {
      throw new FormatError(`${name}: needs its ${what} "${path}" beside it; pick them together with ${name}`);
    },
  };
}

function isFileList(source: ModelSource): source is Iterable<File> | ArrayLike<File> {
  if (typeof source === 'string' || source instanceof URL || source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return false;
  if (typeof Blob !== 'undefined' && source instanceof Blob) return false;
  return Symbol.iterator in Object(source) || typeof (source as ArrayLike<File>).length === 'number';
}

/**
 * Loads a model in any supported format and builds it on `runtime`. Errors
 * are typed (FormatError, UnsupportedError, ShapeError) and name the file
 * and the place.
 */
export async function loadModel(runtime: Runtime, source: ModelSource, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const loaded = await loadFormat(runtime, source, options);
  const { model, hints } = loaded;
  const result: LoadedModel = { model, format: loaded.format, source: loaded.source };
  const preprocessing = options.preprocessing ?? hints.preprocessing;
  const classNames = options.classNames ?? hints.classNames;
  if (preprocessing) result.preprocessing = preprocessing;
  if (classNames) result.classNames = classNames;
  return result;
}

/** The model and what its file says about itself. */
async function loadFormat(runtime: Runtime, source: ModelSource, options: LoadModelOptions): Promise<Omit<LoadedModel, 'preprocessing' | 'classNames'> & { hints: ModelHints }> {
  let files: Files;
  if (typeof source === 'string' || source instanceof URL) {
    files = await fromUrl(source, options.fetch ?? fetch);
  } else if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    const main = bytesOf(source);
    files = { name: 'model', main, sibling: async (path, what) => { throw new FormatError(`model: needs its ${what} "${path}" beside it; pass a URL or the files picked together`); } };
  } else if (typeof Blob !== 'undefined' && source instanceof Blob) {
    files = await fromBlob(source);
  } else if (isFileList(source)) {
    files = await fromFiles(Array.from(source as ArrayLike<File>));
  } else {
    throw new FormatError('loadModel: the source is not a URL, a File/Blob, bytes, or a list of files');
  }
  if (files.main.byteLength === 0) throw new FormatError(`${files.name}: the file is empty`);

  if (!looksLikeJson(files.main)) {
    const hints = modelHints(onnxMetadataProps(files.main), files.name);
    const { model } = await importOnnx(runtime, files.main, { fileName: files.name, inputShapes: options.inputShapes });
    return { model, format: 'onnx', source: files.name, hints };
  }
  const json = parseJson(files);
  const metadata = (key: string) => (json as Record<string, unknown>)[key] as Record<string, unknown> | undefined;
  if (isTfjsLayersModelJson(json)) {
    const hints = modelHints(metadata('userDefinedMetadata'), files.name);
    const { model } = await importTfjsLayers(runtime, {
      modelJson: json as object,
      fileName: files.name,
      loadWeights: (path) => files.sibling(path, 'weight shard'),
    });
    return { model, format: 'tfjs-layers', source: files.name, hints };
  }
  if ((json as { format?: unknown })?.format === MODEL_FORMAT) {
    const hints = modelHints(metadata('metadata'), files.name);
    // Our own manifest names no weight file: it is the .bin of the same name.
    const weightsName = (files.name.split('/').pop() ?? 'model.json').replace(/\.json$/i, '') + '.bin';
    let weights: Uint8Array;
    try {
      weights = await files.sibling(weightsName, 'weights');
    } catch (e) {
      if (e instanceof DeconvNetError) throw e;
      throw new FormatError(`${files.name}: its weights "${weightsName}" could not be read (${(e as Error).message})`);
    }
    return { model: loadSavedModel(runtime, json, weights, files.name), format: 'deconvnet-webgpu', source: files.name, hints };
  }
  throw new FormatError(`${files.name}: a JSON file that is neither a TF.js Layers model.json (format "layers-model") nor a ${MODEL_FORMAT} manifest`);
}
