// Class names for a model's outputs, read from the files people have at hand:
// a text file with one name per line, or JSON (an array of names, an object
// index -> name, or Keras's imagenet_class_index.json, index -> [wnid, name]).
// Plus the top-k of an output vector, which is what the names label.
import { FormatError } from '../gpu/errors.js';

/** A JSON entry: a name, or a [wnid, name] pair whose last element is the name. */
function nameOf(entry: unknown, where: string): string {
  const name = Array.isArray(entry) ? entry[entry.length - 1] : entry;
  if (typeof name !== 'string' || name.trim() === '') {
    throw new FormatError(`${where} is ${JSON.stringify(entry)}; expected a non-empty name (or a [id, name] pair)`);
  }
  return name.trim();
}

function fromJson(value: unknown, source: string): string[] {
  if (Array.isArray(value)) return value.map((entry, i) => nameOf(entry, `${source}: entry ${i}`));
  if (value === null || typeof value !== 'object') {
    throw new FormatError(`${source}: JSON ${value === null ? 'null' : typeof value} is not a list of class names (expected an array or an object index -> name)`);
  }
  const entries = Object.entries(value);
  const names: string[] = new Array(entries.length);
  for (const [key, entry] of entries) {
    const index = Number(key);
    if (!/^\d+$/.test(key) || index >= entries.length) {
      throw new FormatError(`${source}: key "${key}" is not a class index 0..${entries.length - 1}`);
    }
    names[index] = nameOf(entry, `${source}: class ${key}`);
  }
  return names;
}

/**
 * Class names, in output order, from the text of a names file: JSON (an
 * array, or an object whose keys are the indices 0..n-1, values names or
 * [id, name] pairs) or plain text with one name per line (trailing blank
 * lines ignored). Throws FormatError naming what is wrong: empty input,
 * invalid JSON, a non-string or blank name, a missing or extra index.
 */
export function parseClassNames(text: string, source = 'class names'): string[] {
  const body = text.replace(/^\uFEFF/, '').trim();
  if (body === '') throw new FormatError(`${source}: the file is empty`);
  if (body.startsWith('[') || body.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (e) {
      throw new FormatError(`${source}: starts like JSON but is not valid JSON (${(e as Error).message})`);
    }
    const names = fromJson(value, source);
    if (names.length === 0) throw new FormatError(`${source}: the list of class names is empty`);
    return names;
  }
  return body.split(/\r?\n/).map((line, i) => {
    const name = line.trim();
    if (name === '') throw new FormatError(`${source}: line ${i + 1} is blank; give one class name per line`);
    return name;
  });
}

/** One entry of a top-k list: the output index and its value. */
export interface ClassScore { index: number; score: number }

/** The `k` largest values of an output vector, largest first (ties: lower index first; NaN never ranks). */
export function topClasses(scores: ArrayLike<number>, k = 5): ClassScore[] {
  const all: ClassScore[] = [];
  for (let i = 0; i < scores.length; i++) if (!Number.isNaN(scores[i]!)) all.push({ index: i, score: scores[i]! });
  all.sort((a, b) => b.score - a.score || a.index - b.index);
  return all.slice(0, Math.max(0, k));
}

/** Whether an output vector reads as class probabilities: every value in [0, 1] and a sum of 1 (within 1e-3). */
export function isProbabilityVector(scores: ArrayLike<number>): boolean {
  let sum = 0;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i]!;
    if (!(v >= 0 && v <= 1)) return false;
    sum += v;
  }
  return scores.length > 0 && Math.abs(sum - 1) <= 1e-3;
}
