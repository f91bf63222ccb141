// Server-side vitest browser commands that hand the ONNX conformance cases to
// the browser. The cases live beside the clone (../shared/onnx-conformance),
// outside the Vite root, where the built-in readFile command may not reach;
// these commands read only inside that folder and return the bytes as base64.
import { readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { BrowserCommand } from 'vitest/node';

/** The cases folder, relative to the project root. */
export const ONNX_CASES_DIR = '../shared/onnx-conformance';

/** One case's protobuf files, base64-encoded. */
export interface OnnxCaseFiles {
  model: string;
  /** input_0.pb, input_1.pb, ... of test_data_set_0, in index order. */
  inputs: string[];
  outputs: string[];
}

function casesRoot(projectRoot: string): string {
  return resolve(projectRoot, ONNX_CASES_DIR);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** 'suite/case' for every folder holding a model.onnx, or null when the cases folder is absent. */
const onnxListCases: BrowserCommand<[]> = async ({ project }) => {
  const root = casesRoot(project.config.root);
  if (!(await isDirectory(root))) return null;
  const names: string[] = [];
  for (const suite of (await readdir(root)).sort()) {
    if (!(await isDirectory(join(root, suite)))) continue;
    for (const name of (await readdir(join(root, suite))).sort()) {
      if (await isDirectory(join(root, suite, name))) names.push(`${suite}/${name}`);
    }
  }
  return names;
};

/** Numbered files `prefix_N.pb` of a data set, in N order, stopping at the first gap. */
async function numbered(dir: string, prefix: string): Promise<string[]> {
  const files = new Set(await readdir(dir));
  const out: string[] = [];
  for (let i = 0; files.has(`${prefix}_${i}.pb`); i++) out.push(await readFile(join(dir, `${prefix}_${i}.pb`), 'base64'));
  return out;
}

const onnxReadCase: BrowserCommand<[name: string]> = async ({ project }, name) => {
  const root = casesRoot(project.config.root);
  const dir = resolve(root, name);
  const rel = relative(root, dir);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new Error(`onnxReadCase: ${name} is not a case inside ${ONNX_CASES_DIR}`);
  const data = join(dir, 'test_data_set_0');
  const files: OnnxCaseFiles = {
    model: await readFile(join(dir, 'model.onnx'), 'base64'),
    inputs: await numbered(data, 'input'),
    outputs: await numbered(data, 'output'),
  };
  return files;
};

/** Whether LIGHT_MODELS=1 asks for the whole VGG-19 / ZFNet-512 light-model runs (minutes each on SwiftShader). */
const lightModelsWanted: BrowserCommand<[]> = async () => process.env.LIGHT_MODELS === '1';

/** Spread into `test.browser.commands` of the vitest config. */
export const onnxCommands = { onnxListCases, onnxReadCase, lightModelsWanted };

declare module 'vitest/browser' {
  interface BrowserCommands {
    onnxListCases: () => Promise<string[] | null>;
    onnxReadCase: (name: string) => Promise<OnnxCaseFiles>;
    lightModelsWanted: () => Promise<boolean>;
  }
}
