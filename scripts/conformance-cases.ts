// Finding ONNX test cases on disk for `npm run conformance` (Node side, no
// browser): any folder holding a model.onnx is a case, and each of its
// test_data_set_* folders holds input_N.pb / output_N.pb.
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';

export interface DataSetFiles {
  /** The folder's name, e.g. test_data_set_0. */
  name: string;
  /** Absolute paths of input_0.pb, input_1.pb, ... in index order. */
  inputs: string[];
  outputs: string[];
}

export interface CaseFiles {
  /** The case's path below DIR with '/' separators ('suite/case'); the folder's own name when DIR is the case. */
  name: string;
  dir: string;
  model: string;
  dataSets: DataSetFiles[];
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Numbered files `prefix_N.pb`, in N order, stopping at the first gap. */
function numbered(dir: string, prefix: string): string[] {
  const files = new Set(readdirSync(dir));
  const out: string[] = [];
  for (let i = 0; files.has(`${prefix}_${i}.pb`); i++) out.push(join(dir, `${prefix}_${i}.pb`));
  return out;
}

/** test_data_set_0, test_data_set_1, ... (numeric order; a case may have none). */
function dataSets(caseDir: string): DataSetFiles[] {
  const index = (n: string) => Number(n.slice('test_data_set_'.length));
  return readdirSync(caseDir)
    .filter((n) => n.startsWith('test_data_set_') && isDirectory(join(caseDir, n)))
    .sort((p, q) => index(p) - index(q) || p.localeCompare(q))
    .map((name) => {
      const dir = join(caseDir, name);
      return { name, inputs: numbered(dir, 'input'), outputs: numbered(dir, 'output') };
    });
}

/**
 * Every case under `root`, sorted by name: `root` itself when it holds a
 * model.onnx, else every folder below it that does (a case's own subfolders
 * are not searched further). Throws when `root` is not a folder.
 */
export function discoverCases(root: string): CaseFiles[] {
  const top = resolve(root);
  if (!isDirectory(top)) throw new Error(`${root}: not a folder`);
  const found: string[] = [];
  const seen = new Set<string>(); // symbolic links may loop
  const walk = (dir: string) => {
    const real = realpathSync(dir);
    if (seen.has(real)) return;
    seen.add(real);
    if (isFile(join(dir, 'model.onnx'))) {
      found.push(dir);
      return;
    }
    for (const entry of readdirSync(dir).sort()) {
      const sub = join(dir, entry);
      if (isDirectory(sub)) walk(sub);
    }
  };
  walk(top);
  return found
    .map((dir) => ({
      name: dir === top ? basename(dir) : relative(top, dir).split(sep).join('/'),
      dir,
      model: join(dir, 'model.onnx'),
      dataSets: dataSets(dir),
    }))
    .sort((p, q) => (p.name < q.name ? -1 : p.name > q.name ? 1 : 0));
}
