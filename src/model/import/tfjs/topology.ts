// TF.js Layers import, the graph: Sequential and functional configs read
// into one list of layer calls (shared layers: one entry per call), nested
// models inlined under aliases, and the calls put in an order where each
// comes after its inputs.
import { FormatError, UnsupportedError } from '../../../gpu/errors.js';
import {
  isObject, layerEntry, batchShapeOf, checkInputDtype, inboundCalls, refList, topologyOf, valueKey, type Json, type KerasLayer,
} from './json.js';

/**
 * `aliases`: value keys that name another value: a nested model's output
 * (its last layer's) and its inputs (what the outer model feeds them).
 */
export interface Topology { inputs: Array<{ name: string; shape: number[] }>; layers: KerasLayer[]; outputs: string[]; aliases: Map<string, string> }

export const MODEL_CLASSES = ['Sequential', 'Model', 'Functional'];

/** The value a key names, through nested models' aliases. */
export function resolveKey(topo: Topology, key: string): string {
  for (let k = 0; k < 64; k++) {
    const next = topo.aliases.get(key);
    if (next === undefined) return key;
    key = next;
  }
  throw new FormatError(`value "${key}" is an alias of itself`);
}

export function readTopology(mj: Json, file: string): Topology {
  const { className, config } = topologyOf(mj, file);
  return readModelConfig(className, config, file, false);
}

/**
 * A nested model (a Sequential or functional model used as a layer, called
 * once) is inlined: its layers become the outer model's, its inputs aliases
 * of what the outer model feeds it, its output an alias of its last layer's.
 */
function inlineNested(e: { className: string; name: string; config: Json; raw: Json }, inbound: string[][], into: Topology, file: string): void {
  const where = `${file}: layer "${e.name}" (${e.className})`;
  if (inbound.length !== 1) throw new UnsupportedError(`${where}: a nested model called ${inbound.length} times is not supported (once)`);
  const inner = readModelConfig(e.className, e.config, `${file}: nested model "${e.name}"`, true);
  if (inner.inputs.length !== inbound[0]!.length) throw new FormatError(`${where}: the nested model takes ${inner.inputs.length} inputs, it is given ${inbound[0]!.length}`);
  if (inner.outputs.length !== 1) throw new UnsupportedError(`${where}: a nested model with ${inner.outputs.length} outputs is not supported (1)`);
  inner.inputs.forEach((input, k) => into.aliases.set(input.name, inbound[0]![k]!));
  for (const [key, target] of inner.aliases) into.aliases.set(key, target);
  into.layers.push(...inner.layers);
  // Readers name the call as [model, node, 0]; tfjs counts the nested model's own
  // construction node too, so its one call may be node 1.
  for (const k of [0, 1]) into.aliases.set(valueKey(e.name, k), inner.outputs[0]!);
}

/** The input shape a Sequential's first layer declares, looking into a nested model that comes first. */
function nestedInputShape(first: { className: string; name: string; config: Json }, file: string): number[] | null {
  const own = batchShapeOf(first.config, `${file}: layer "${first.name}" (${first.className})`);
  if (own || !MODEL_CLASSES.includes(first.className)) return own;
  const list = Array.isArray(first.config.layers) ? first.config.layers : [];
  return list.length > 0 ? nestedInputShape(layerEntry(list[0], 0, file), file) : null;
}

function readModelConfig(className: string, config: unknown, file: string, nested: boolean): Topology {
  const aliases = new Map<string, string>();
  if (className === 'Sequential') {
    const list = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
    if (!Array.isArray(list) || list.length === 0) throw new FormatError(`${file}: the Sequential model has no layers`);
    const entries = list.map((raw, i) => layerEntry(raw, i, file));
    const first = entries[0]!;
    const inputName = first.className === 'InputLayer' ? first.name : 'input';
    const shape = nestedInputShape(first, file);
    if (first.className === 'InputLayer') checkInputDtype(first.config, `${file}: layer "${first.name}" (InputLayer)`);
    if (!shape && !nested) throw new FormatError(`${file}: the Sequential model has no input shape (its first layer "${first.name}" has no batch_input_shape)`);
    const topo: Topology = { inputs: [{ name: nested ? `${file}/input` : inputName, shape: shape ?? [] }], layers: [], outputs: [], aliases };
    let previous = topo.inputs[0]!.name;
    for (const e of entries) {
      if (e.className === 'InputLayer') {
        if (e !== first) throw new FormatError(`${file}: layer "${e.name}": an InputLayer can only come first in a Sequential model`);
        if (nested) aliases.set(e.name, previous);
        continue;
      }
      if (MODEL_CLASSES.includes(e.className)) inlineNested(e, [[previous]], topo, file);
      else topo.layers.push({ className: e.className, name: e.name, kerasName: e.name, config: e.config, inbound: [previous] });
      previous = e.name;
    }
    if (topo.layers.length === 0) throw new FormatError(`${file}: the Sequential model has no layers after its input`);
    topo.outputs.push(previous);
    return topo;
  }
  if (className === 'Model' || className === 'Functional') {
    if (!isObject(config) || !Array.isArray(config.layers)) throw new FormatError(`${file}: the ${className} config has no layers list`);
    const entries = config.layers.map((raw, i) => layerEntry(raw, i, file));
    const inputNames = refList(config.input_layers, 'input_layers', file);
    const outputs = refList(config.output_layers, 'output_layers', file);
    const inputs: Topology['inputs'] = [];
    const layers: KerasLayer[] = [];
    const topo: Topology = { inputs, layers, outputs, aliases };
    const byName = new Map(entries.map((e) => [e.name, e]));
    if (byName.size !== entries.length) {
      const dup = entries.find((e, i) => entries.findIndex((x) => x.name === e.name) !== i)!;
      throw new FormatError(`${file}: two layers are named "${dup.name}"`);
    }
    for (const name of inputNames) {
      const e = byName.get(name);
      if (!e || e.className !== 'InputLayer') throw new FormatError(`${file}: input_layers names "${name}", which is not an InputLayer`);
      const shape = batchShapeOf(e.config, `${file}: layer "${name}" (InputLayer)`) ?? (nested ? [] : null);
      if (!shape) throw new FormatError(`${file}: layer "${name}" (InputLayer) has no batch_input_shape`);
      checkInputDtype(e.config, `${file}: layer "${name}" (InputLayer)`);
      inputs.push({ name, shape });
    }
    for (const e of entries) {
      if (e.className === 'InputLayer') {
        if (!inputNames.includes(e.name)) throw new FormatError(`${file}: InputLayer "${e.name}" is not among input_layers`);
        continue;
      }
      const calls = inboundCalls(e.raw, e.name, e.className, file);
      if (MODEL_CLASSES.includes(e.className)) {
        inlineNested(e, calls, topo, file);
        continue;
      }
      calls.forEach((inbound, k) => {
        layers.push({ className: e.className, name: valueKey(e.name, k), kerasName: e.name, config: e.config, inbound });
      });
    }
    return topo;
  }
  throw new UnsupportedError(`${file}: model class "${className}" is not supported (Sequential, Model, Functional)`);
}

/** Orders layers so each comes after its inputs (depth-first), naming unknown inputs and cycles. */
export function topologicalOrder(topo: Topology, file: string): KerasLayer[] {
  const byName = new Map(topo.layers.map((l) => [l.name, l]));
  const inputs = new Set(topo.inputs.map((i) => i.name));
  const state = new Map<string, 'visiting' | 'done'>();
  const order: KerasLayer[] = [];
  const visit = (root: KerasLayer) => {
    // Iterative, so a long chain cannot overflow the stack.
    const stack: Array<{ layer: KerasLayer; next: number }> = [{ layer: root, next: 0 }];
    state.set(root.name, 'visiting');
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.layer.inbound.length) {
        const dep = resolveKey(topo, top.layer.inbound[top.next++]!);
        if (inputs.has(dep)) continue;
        const d = byName.get(dep);
        if (!d) throw new FormatError(`${file}: layer "${top.layer.name}" (${top.layer.className}) reads "${dep}", which is not a layer of the model`);
        const s = state.get(dep);
        if (s === 'done') continue;
        if (s === 'visiting') {
          const cycle = [...stack.slice(stack.findIndex((f) => f.layer.name === dep)).map((f) => f.layer.name), dep];
          throw new FormatError(`${file}: layers ${cycle.map((n) => `"${n}"`).join(' -> ')} form a cycle`);
        }
        state.set(dep, 'visiting');
        stack.push({ layer: d, next: 0 });
      } else {
        state.set(top.layer.name, 'done');
        order.push(top.layer);
        stack.pop();
      }
    }
  };
  for (const l of topo.layers) if (!state.has(l.name)) visit(l);
  return order;
}
