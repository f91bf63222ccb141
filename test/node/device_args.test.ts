// The device check's command line (bench/device-args.ts): what a GPU machine
// runs by default, what the dry run reduces, and refusals naming the flag.
import { describe, expect, it } from 'vitest';
import { parseDeviceArgs, SECTIONS, TIMESTAMP_FLAGS, WORKLOADS } from '../../bench/device-args.js';

describe('device check arguments', () => {
  it('defaults to the issue sizes and budgets that fit in 6 minutes', () => {
    const a = parseDeviceArgs(['node', 'device-node.mjs', '--run-device'], 'host', TIMESTAMP_FLAGS);
    expect(a.dry).toBe(false);
    expect(a.sections).toEqual([...SECTIONS]);
    expect(a.workloads).toEqual(WORKLOADS);
    expect(a.workloads).toHaveLength(6);
    expect([a.size, a.batches, a.matmulNs]).toEqual([224, [1, 16], [1024, 4096]]);
    expect(a.layers).toBeUndefined();
    expect(a.budgets.gate + a.budgets.kernels + a.budgets.workloads).toBeLessThanOrEqual(330);
    expect([a.bench.vggSize, a.bench.projectSize, a.bench.occlusionSize, a.bench.occlusionGrid, a.bench.tune]).toEqual([224, 224, 112, 7, true]);
    expect(a.adapterFlags).toContain('disable-dawn-features=timestamp_quantization');
  });

  it('--dry reduces sizes and layers; flags override', () => {
    const a = parseDeviceArgs(['--dry', '--budgets', 'kernels=5', '--sections', 'gate,kernels', '--layers', 'conv4_1', '--matmul', '64'], 'host', []);
    expect(a.dry).toBe(true);
    expect(a.size).toBe(32);
    expect(a.layers).toEqual(['conv4_1']);
    expect(a.budgets.kernels).toBe(5);
    expect(a.sections).toEqual(['gate', 'kernels']);
    expect(a.matmulNs).toEqual([64]);
    expect(a.out).toMatch(/^bench\/results\/swiftshader-dryrun-\d{4}-\d\d-\d\d\.json$/);
    expect(parseDeviceArgs(['--dry'], 'h', []).layers).toEqual(['conv1_2', 'conv3_1', 'conv5_1']);
  });

  it('refuses unknown sections, workloads, budgets and sizes, naming them', () => {
    expect(() => parseDeviceArgs(['--sections', 'gate,speed'], 'h', [])).toThrow(/unknown speed/);
    expect(() => parseDeviceArgs(['--workloads', 'conv64,resnet'], 'h', [])).toThrow(/unknown resnet/);
    expect(() => parseDeviceArgs(['--budgets', 'gate=-1'], 'h', [])).toThrow(/gate=-1/);
    expect(() => parseDeviceArgs(['--budgets', 'warmup=3'], 'h', [])).toThrow(/warmup=3/);
    expect(() => parseDeviceArgs(['--batches', '1,0'], 'h', [])).toThrow(/--batches/);
  });
});
