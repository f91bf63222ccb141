// Layers built twice from the same random weights: the library's layer and
// its float64 twin for test/ref/net.ts, so that a test net is declared once.
import { Conv2D, MaxPool2D, ReLU, type Layer } from '../../src/index.js';
import type { makeRandom } from './random.js';
import type { RefLayer } from '../ref/net.js';

export interface TwinLayer { layer: () => Layer; ref: RefLayer }
export interface TwinNet { name: string; inputShape: number[]; layers: () => Layer[]; ref: RefLayer[] }

export type ConvSpec = {
  inC: number; outC: number; k: number; stride?: number; pad?: [number, number, number, number]; dilation?: number; groups?: number; relu?: boolean;
};

/** A conv layer and its float64 twin from the same random weights. */
export function twinConv(rnd: ReturnType<typeof makeRandom>, name: string, s: ConvSpec): TwinLayer {
  const groups = s.groups ?? 1, pad = s.pad ?? [0, 0, 0, 0];
  const weight = rnd.array(s.outC * (s.inC / groups) * s.k * s.k, -0.5, 0.5), bias = rnd.array(s.outC, -0.1, 0.1);
  return {
    layer: () => new Conv2D({
      name, filters: s.outC, kernelSize: s.k, stride: s.stride, padding: pad, dilation: s.dilation, groups,
      activation: s.relu ? 'relu' : 'none', kernel: weight, bias,
    }),
    ref: { kind: 'conv', weight, bias, outC: s.outC, k: s.k, stride: s.stride ?? 1, pad, dilation: s.dilation ?? 1, groups, relu: s.relu ?? false },
  };
}

export function twinPool(name: string, k: number, stride: number, pad: [number, number, number, number] = [0, 0, 0, 0]): TwinLayer {
  return { layer: () => new MaxPool2D({ name, kernel: k, stride, padding: pad }), ref: { kind: 'maxpool', k, stride, pad } };
}

export function twinRelu(name: string): TwinLayer {
  return { layer: () => new ReLU({ name }), ref: { kind: 'relu' } };
}

export function twinChain(name: string, inputShape: number[], parts: TwinLayer[]): TwinNet {
  return { name, inputShape, layers: () => parts.map((p) => p.layer()), ref: parts.map((p) => p.ref) };
}
