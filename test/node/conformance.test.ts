// Case discovery of `npm run conformance` (scripts/conformance-cases.ts).
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { discoverCases } from '../../scripts/conformance-cases.js';

const root = mkdtempSync(join(tmpdir(), 'conformance-cases-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function touch(...parts: string[]): void {
  const path = join(root, ...parts);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, '');
}

// suite layout, a flat case beside it, a case with no data set, stray files.
touch('suite', 'b_case', 'model.onnx');
touch('suite', 'b_case', 'test_data_set_0', 'input_0.pb');
touch('suite', 'b_case', 'test_data_set_0', 'input_1.pb');
touch('suite', 'b_case', 'test_data_set_0', 'input_3.pb'); // after a gap: not an input
touch('suite', 'b_case', 'test_data_set_0', 'output_0.pb');
touch('suite', 'b_case', 'test_data_set_10', 'input_0.pb');
touch('suite', 'b_case', 'test_data_set_10', 'output_0.pb');
touch('suite', 'b_case', 'test_data_set_2', 'input_0.pb');
touch('suite', 'b_case', 'test_data_set_2', 'output_0.pb');
touch('suite', 'b_case', 'inner', 'model.onnx'); // inside a case: not searched
touch('suite', 'a_case', 'model.onnx');
touch('flat_case', 'model.onnx');
touch('flat_case', 'test_data_set_0', 'output_0.pb');
touch('notes', 'README.md');

describe('discoverCases', () => {
  it('finds every folder holding a model.onnx, sorted, with its data sets in numeric order', () => {
    const cases = discoverCases(root);
    expect(cases.map((c) => c.name)).toEqual(['flat_case', 'suite/a_case', 'suite/b_case']);
    const b = cases[2]!;
    expect(b.model).toBe(join(root, 'suite', 'b_case', 'model.onnx'));
    expect(b.dataSets.map((d) => d.name)).toEqual(['test_data_set_0', 'test_data_set_2', 'test_data_set_10']);
    const set0 = join(root, 'suite', 'b_case', 'test_data_set_0');
    expect(b.dataSets[0]).toEqual({ name: 'test_data_set_0', inputs: [join(set0, 'input_0.pb'), join(set0, 'input_1.pb')], outputs: [join(set0, 'output_0.pb')] });
    expect(cases[1]!.dataSets).toEqual([]);
    expect(cases[0]!.dataSets[0]!.inputs).toEqual([]);
  });

  it('takes DIR pointing at one case or at a suite of cases', () => {
    expect(discoverCases(join(root, 'suite', 'b_case')).map((c) => c.name)).toEqual(['b_case']);
    expect(discoverCases(join(root, 'suite')).map((c) => c.name)).toEqual(['a_case', 'b_case']);
    expect(discoverCases(join(root, 'notes'))).toEqual([]);
  });

  it('says when DIR is not a folder', () => {
    expect(() => discoverCases(join(root, 'missing'))).toThrow(/missing: not a folder/);
    expect(() => discoverCases(join(root, 'flat_case', 'model.onnx'))).toThrow(/not a folder/);
  });
});
