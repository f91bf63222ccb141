// The layering rule of the library, checked over its import statements
// (test/node/layering.test.ts runs it in `npm test`; `npx tsx scripts/layering.ts` prints it).
//
// Layers point one way: a file may import its own layer and the ones below,
// never one above. Layers of the same rank (analysis, train, io, render) may
// use each other. src/util (no library imports) and src/data (uses only the
// GPU errors) sit low so that every layer above them can use them.
import { readdirSync, readFileSync } from 'node:fs';
import { join, dirname, relative, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Rank of each layer (top-level folder under the repository root); a higher rank may import a lower one. */
export const LAYER_RANK: Readonly<Record<string, number>> = {
  'shaders': 0,
  'src/util': 1,
  'src/gpu': 2,
  'src/data': 3,
  'src/ops': 4,
  'src/layers': 5,
  'src/model': 6,
  'src/deconv': 7,
  'src/analysis': 8,
  'src/train': 8,
  'src/io': 8,
  'src/render': 8,
  'src/index.ts': 9,
};

export interface SourceFile { path: string; text: string }
export interface Violation { file: string; imports: string; reason: string }

/** The layer a repository path belongs to ('src/model/import/onnx.ts' -> 'src/model'), or null outside the library. */
export function layerOf(path: string): string | null {
  const parts = path.split('/');
  if (parts[0] === 'shaders') return 'shaders';
  if (parts[0] !== 'src') return null;
  const top = parts.length === 2 ? path : `src/${parts[1]}`;
  return top in LAYER_RANK ? top : null;
}

/** Every module specifier a file names: static imports and re-exports (type-only included), side-effect and dynamic imports. */
export function importSpecifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) found.push(m[1]!);
  return found;
}

/** The imports in `files` (paths relative to the repository root) that break the layering. */
export function layeringViolations(files: readonly SourceFile[]): Violation[] {
  const violations: Violation[] = [];
  for (const { path, text } of files) {
    const from = layerOf(path);
    if (from === null) continue;
    for (const spec of importSpecifiers(text)) {
      if (!spec.startsWith('.')) continue; // a package
      const target = posix.normalize(posix.join(posix.dirname(path), spec));
      const to = layerOf(target);
      if (to === null) {
        violations.push({ file: path, imports: spec, reason: `${from} imports ${target}, outside the library's layers` });
      } else if (LAYER_RANK[to]! > LAYER_RANK[from]!) {
        violations.push({ file: path, imports: spec, reason: `${from} (rank ${LAYER_RANK[from]}) imports ${to} (rank ${LAYER_RANK[to]}) above it` });
      }
    }
  }
  return violations;
}

/** The .ts files under shaders/ and src/ of the repository at `root`. */
export function librarySources(root: string): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) files.push({ path: relative(root, full).split('\\').join('/'), text: readFileSync(full, 'utf8') });
    }
  };
  for (const top of ['shaders', 'src']) walk(join(root, top));
  return files;
}

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const violations = layeringViolations(librarySources(REPO_ROOT));
  for (const v of violations) console.log(`${v.file}: '${v.imports}': ${v.reason}`);
  console.log(violations.length === 0 ? 'layering: no upward imports' : `layering: ${violations.length} upward import(s)`);
  process.exitCode = violations.length === 0 ? 0 : 1;
}
