// ONNX activations: ReLU family, the smooth ones (Selu, Gelu, Mish...),
// PRelu with its broadcasting slope, Clip with attribute or input bounds.
import { FormatError, UnsupportedError } from '../../../gpu/errors.js';
import { Activation, PReLU } from '../../../layers/activation.js';
import { SELU_ALPHA, SELU_GAMMA } from '../../../ops/activation.js';
import { Attrs } from '../onnx_tensor.js';
import { size, GraphBuilder, input, type Node, type Value, type Mapping } from './graph.js';

export function activationOf(kind: 'relu' | 'sigmoid' | 'tanh' | 'leaky_relu' | 'elu', alphaDefault?: number): Mapping {
  return (g, node, a, name) => {
    const x = g.computed(input(node, 0), a.where);
    const alpha = alphaDefault === undefined ? undefined : a.float('alpha', alphaDefault);
    if (kind === 'relu' || kind === 'sigmoid' || kind === 'tanh') a.ignore('consumed_inputs');
    return g.add(new Activation({ name, kind, alpha }), [x.node], x.shape);
  };
}

/** Selu, HardSigmoid, HardSwish, Gelu, Softplus, Softsign, Mish: one Activation node, attributes as ONNX names them. */
export function smoothActivation(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  const op = node.opType;
  let options: ConstructorParameters<typeof Activation>[0];
  if (op === 'Selu') {
    a.ignore('consumed_inputs');
    options = { name, kind: 'selu', alpha: a.float('alpha', SELU_ALPHA), gamma: a.float('gamma', SELU_GAMMA) };
  } else if (op === 'HardSigmoid') {
    a.ignore('consumed_inputs');
    options = { name, kind: 'hard_sigmoid', alpha: a.float('alpha', 0.2), beta: a.float('beta', 0.5) };
  } else if (op === 'HardSwish') {
    options = { name, kind: 'hard_swish', alpha: 1 / 6, beta: 0.5 };
  } else if (op === 'Gelu') {
    const approximate = a.string('approximate', 'none');
    if (approximate !== 'none' && approximate !== 'tanh') throw new FormatError(`${a.where}: approximate "${approximate}" is not "none" or "tanh"`);
    options = { name, kind: approximate === 'tanh' ? 'gelu_tanh' : 'gelu' };
  } else {
    options = { name, kind: op === 'Softplus' ? 'softplus' : op === 'Softsign' ? 'softsign' : 'mish' };
  }
  return g.add(new Activation(options), [x.node], x.shape);
}

/** From opset 7 the slope broadcasts numpy-style: per channel only when its one non-1 dimension is axis 1. */
export function pRelu(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  const slope = g.host(input(node, 1), a.where);
  const n = size(slope.dims);
  const channels = x.shape[0] ?? 1;
  if (n !== 1) {
    const rank = x.shape.length + 1;
    const aligned = [...Array(Math.max(0, rank - slope.dims.length)).fill(1), ...slope.dims];
    const perChannel = aligned.length === rank && aligned.every((d, i) => (i === 1 ? d === channels : d === 1));
    if (!(g.opset < 7 ? n === channels : perChannel)) {
      throw new UnsupportedError(`${a.where}: slope [${slope.dims}] for input [N, ${x.shape}] is neither one value nor one per channel`);
    }
  }
  return g.add(new PReLU({ name, slope: g.floats(input(node, 1), a.where) }), [x.node], x.shape);
}

/**
 * Clip: bounds are attributes before opset 11, then optional inputs that
 * must be constants (initializers, Constant nodes or folded arithmetic), one
 * value each. Like numpy, a min above max makes everything max.
 */
export function clip(g: GraphBuilder, node: Node, a: Attrs, name: string): Value {
  const x = g.computed(input(node, 0), a.where);
  let min: number | undefined, max: number | undefined;
  if (g.opset < 11) {
    min = a.optionalFloat('min');
    max = a.optionalFloat('max');
  } else {
    const bound = (i: number, what: string) => {
      if (!input(node, i)) return undefined;
      const v = g.floats(input(node, i), `${a.where}: ${what}`);
      if (v.length !== 1) throw new FormatError(`${a.where}: ${what} has ${v.length} values; Clip takes one`);
      return v[0];
    };
    min = bound(1, 'min');
    max = bound(2, 'max');
  }
  if (min !== undefined && max !== undefined && min > max) min = max;
  return g.add(new Activation({ name, kind: 'clip', min, max }), [x.node], x.shape);
}
