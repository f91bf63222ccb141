// Static analysis of one compute shader's WGSL text, for the kernel report
// (bench/kernel-report.ts): what a GPU would run per workgroup, read from the
// generated code, with no GPU.
//
// - invocations per workgroup (@workgroup_size, constants resolved);
// - workgroup ("shared") memory per workgroup, from the `var<workgroup>` types;
// - a loop tree of the entry point, with user functions inlined at their call
//   sites (a loader called inside the K loop counts inside it) and the trip
//   count of each loop whose bounds are compile-time constants;
// - per iteration of the hot loop (the innermost loop with a run-time trip
//   count that does multiply-adds: the K walk), counted inclusively over the
//   constant-trip loops inside it: multiply-adds (scalar lanes: a vec4 fma is
//   4), loads from workgroup memory and bytes read from storage buffers;
// - integer `/` and `%` inside inner loops (the hot loop and the loops inside
//   it: the K walk's staging and compute loops; without a hot loop, any loop
//   inside a loop), by site. A divisor that is a compile-time power of two is
//   a shift and is not counted.
//
// It reads the code the way the library's shaders are written (one statement
// per line or `;`, named constants, `array<T, N>` tiles); it is a report, not
// a compiler: guarded loads count as loads, a value loaded once and reused
// counts once.

/** What one shader does, per workgroup and per hot-loop iteration of one invocation. */
export interface WgslReport {
  /** Invocations per workgroup, or null when @workgroup_size is not made of constants. */
  invocations: number | null;
  /** Bytes of `var<workgroup>` memory per workgroup. */
  workgroupBytes: number;
  workgroupVars: Array<{ name: string; bytes: number }>;
  /**
   * Integer divisions and modulos in inner loops, by site, callees inlined: in the hot loop and the
   * loops inside it (an epilogue's store loops are not inner loops); without a hot loop, in any loop inside a loop.
   */
  innerDivisions: number;
  /** The code of each such site, e.g. "k / taps" (in loadA). */
  innerDivisionSites: string[];
  /** Per iteration of the hot loop, one invocation; null when no run-time loop does multiply-adds. */
  hot: LoopCounts | null;
  /** The hot loop's header, e.g. "for (var k0 = 0u; k0 < p.kSize; k0 += TK)". */
  hotLoop: string | null;
  /** Multiply-adds per workgroup-memory load in the hot loop (null: no such loads). */
  macsPerSharedLoad: number | null;
  /** Multiply-adds per byte read from storage buffers in the hot loop (null: no such reads). */
  macsPerGlobalByte: number | null;
}

export interface LoopCounts {
  macs: number;
  sharedLoads: number;
  globalBytes: number;
  /** Integer divisions executed (sites times trips, non-power-of-two divisors). */
  divisions: number;
}

/** One loop (or a function body): what its own statements do per iteration, and the loops inside it. */
interface Block {
  header: string;
  depth: number;
  /** Iterations per entry; null when a bound is only known at run time. */
  trips: number | null;
  own: LoopCounts;
  divisionSites: string[];
  children: Block[];
}

type WType =
  | { kind: 'scalar'; name: string; bytes: number; float: boolean }
  | { kind: 'vector'; n: number; elem: WType }
  | { kind: 'array'; elem: WType; count: number | null }
  | { kind: 'other' };

const OTHER: WType = { kind: 'other' };
const U32: WType = { kind: 'scalar', name: 'u32', bytes: 4, float: false };
const F32: WType = { kind: 'scalar', name: 'f32', bytes: 4, float: true };

// ---- text --------------------------------------------------------------------

export function stripComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, '');
}

/** Index of the bracket closing the one at `open` (same kind), or -1. */
function matching(text: string, open: number): number {
  const o = text[open]!, c = ({ '(': ')', '[': ']', '{': '}', '<': '>' } as Record<string, string>)[o]!;
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === o) depth++;
    else if (text[i] === c && --depth === 0) return i;
  }
  return -1;
}

/** Splits "a, b<c, d>, e" at top-level commas. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if ('([<{'.includes(ch)) depth++;
    else if (')]>}'.includes(ch)) depth--;
    else if (ch === ',' && depth === 0) { parts.push(text.slice(start, i).trim()); start = i + 1; }
  }
  const last = text.slice(start).trim();
  if (last) parts.push(last);
  return parts;
}

// ---- constants ---------------------------------------------------------------

/** Integer value of a constant expression (numbers, named constants, + - * / % << >>, min, max, parentheses), or null. */
export function evalConst(expr: string, consts: ReadonlyMap<string, number>): number | null {
  const tokens = expr.match(/0x[0-9a-fA-F]+[iu]?|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?[iuf]?|[A-Za-z_]\w*(?:\.\w+)*|<<|>>|[-+*/%(),]/g);
  if (!tokens || tokens.join('').length !== expr.replace(/\s+/g, '').length) return null;
  let pos = 0;
  const peek = () => tokens[pos];
  const primary = (): number | null => {
    const t = tokens[pos++];
    if (t === undefined) return null;
    if (t === '(') { const v = sum(); return tokens[pos++] === ')' ? v : null; }
    if (t === '-') { const v = primary(); return v === null ? null : -v; }
    if ((t === 'min' || t === 'max') && peek() === '(') {
      pos++;
      const a = sum(); if (tokens[pos++] !== ',') return null;
      const b = sum(); if (tokens[pos++] !== ')') return null;
      return a === null || b === null ? null : t === 'min' ? Math.min(a, b) : Math.max(a, b);
    }
    if (/^[iuf]32$/.test(t) && peek() === '(') { pos++; const v = sum(); return tokens[pos++] === ')' ? v : null; }
    if (/^0x/.test(t)) return parseInt(t.replace(/[iu]$/, ''), 16);
    if (/^\d/.test(t)) { const v = Number(t.replace(/[iuf]$/, '')); return Number.isInteger(v) ? v : null; }
    return consts.get(t) ?? null;
  };
  const product = (): number | null => {
    let v = primary();
    while (peek() === '*' || peek() === '/' || peek() === '%') {
      const op = tokens[pos++], r = primary();
      if (v === null || r === null) return null;
      v = op === '*' ? v * r : op === '/' ? (r === 0 ? null : Math.trunc(v / r)) : r === 0 ? null : v % r;
      if (v === null) return null;
    }
    return v;
  };
  const shift = (): number | null => {
    let v = additive();
    while (peek() === '<<' || peek() === '>>') {
      const op = tokens[pos++], r = additive();
      if (v === null || r === null) return null;
      v = op === '<<' ? v * 2 ** r : Math.floor(v / 2 ** r);
    }
    return v;
  };
  const additive = (): number | null => {
    let v = product();
    while (peek() === '+' || peek() === '-') {
      const op = tokens[pos++], r = product();
      if (v === null || r === null) return null;
      v = op === '+' ? v + r : v - r;
    }
    return v;
  };
  const sum = shift;
  const v = sum();
  return pos === tokens.length ? v : null;
}

/** Every `const NAME = expr;` whose value is an integer constant expression (module and function scope). */
function collectConsts(code: string): Map<string, number> {
  const consts = new Map<string, number>();
  for (const m of code.matchAll(/\bconst\s+(\w+)\s*(?::\s*[\w<>]+\s*)?=\s*([^;]+);/g)) {
    const v = evalConst(m[2]!.trim(), consts);
    if (v !== null) consts.set(m[1]!, v);
  }
  return consts;
}

// ---- types -------------------------------------------------------------------

const SCALARS: Record<string, WType> = {
  f32: F32, u32: U32, i32: { kind: 'scalar', name: 'i32', bytes: 4, float: false },
  f16: { kind: 'scalar', name: 'f16', bytes: 2, float: true }, bool: { kind: 'scalar', name: 'bool', bytes: 4, float: false },
};
const SHORT_ELEM: Record<string, string> = { f: 'f32', u: 'u32', i: 'i32', h: 'f16' };

export function parseType(text: string, consts: ReadonlyMap<string, number>): WType {
  const t = text.trim();
  if (SCALARS[t]) return SCALARS[t];
  let m = /^vec([234])([fuih])$/.exec(t);
  if (m) return { kind: 'vector', n: Number(m[1]), elem: SCALARS[SHORT_ELEM[m[2]!]!]! };
  m = /^vec([234])<\s*(\w+)\s*>$/.exec(t);
  if (m) return { kind: 'vector', n: Number(m[1]), elem: SCALARS[m[2]!] ?? OTHER };
  m = /^array<([\s\S]+)>$/.exec(t);
  if (m) {
    const parts = splitTop(m[1]!);
    return { kind: 'array', elem: parseType(parts[0]!, consts), count: parts[1] ? evalConst(parts[1], consts) : null };
  }
  return OTHER;
}

/** Size and alignment (WGSL memory layout rules for these types). */
function layout(t: WType): { size: number; align: number } {
  switch (t.kind) {
    case 'scalar': return { size: t.bytes, align: t.bytes };
    case 'vector': {
      const e = layout(t.elem);
      return { size: t.n * e.size, align: (t.n === 2 ? 2 : 4) * e.size };
    }
    case 'array': {
      const e = layout(t.elem);
      const stride = Math.ceil(e.size / e.align) * e.align;
      return { size: (t.count ?? 0) * stride, align: e.align };
    }
    default: return { size: 0, align: 4 };
  }
}

export function typeBytes(t: WType): number {
  return layout(t).size;
}

function isFloat(t: WType): boolean {
  return t.kind === 'scalar' ? t.float : t.kind === 'vector' ? isFloat(t.elem) : false;
}

function lanes(t: WType): number {
  return t.kind === 'vector' ? t.n : 1;
}

/** The type after `[i]` (array element or vector component) or a swizzle `.xyz`. */
function peel(t: WType, access: string): WType {
  if (access.startsWith('[')) return t.kind === 'array' ? t.elem : t.kind === 'vector' ? t.elem : OTHER;
  if (t.kind === 'vector') {
    const n = access.length - 1;
    return n === 1 ? t.elem : { kind: 'vector', n, elem: t.elem };
  }
  return OTHER;
}

// ---- expressions -------------------------------------------------------------

/** The operand that ends right before `end` (an identifier chain with [..] and .x, a call, a literal, a parenthesis). */
function operandBefore(text: string, end: number): string {
  let i = end - 1;
  while (i >= 0 && /\s/.test(text[i]!)) i--;
  const stop = i + 1;
  for (;;) {
    const ch = text[i];
    if (ch === ')' || ch === ']') {
      let depth = 0;
      for (; i >= 0; i--) {
        if (text[i] === ')' || text[i] === ']') depth++;
        else if ((text[i] === '(' || text[i] === '[') && --depth === 0) break;
      }
      i--;
      continue;
    }
    if (ch !== undefined && /[\w.]/.test(ch)) { i--; continue; }
    break;
  }
  return text.slice(i + 1, stop).trim();
}

/** The operand that starts at or after `start` (see operandBefore). */
function operandAfter(text: string, start: number): string {
  let i = start;
  while (i < text.length && /\s/.test(text[i]!)) i++;
  const from = i;
  if (text[i] === '-') i++;
  for (;;) {
    const ch = text[i];
    if (ch === '(' || ch === '[') { i = matching(text, i) + 1; if (i === 0) return text.slice(from); continue; }
    if (ch === '<' && /vec\d$|array$/.test(text.slice(from, i))) { i = matching(text, i) + 1; continue; }
    if (ch !== undefined && /[\w.]/.test(ch)) { i++; continue; }
    break;
  }
  return text.slice(from, i).trim();
}

/** Symbol types of one function: storage/workgroup globals, parameters, locals. */
class Scope {
  constructor(readonly consts: ReadonlyMap<string, number>, readonly types: Map<string, WType>) {}

  /** The type of an operand or simple expression, as far as it can be read. */
  typeOf(expr: string): WType {
    const e = expr.trim().replace(/^-/, '');
    if (e.startsWith('(') && matching(e, 0) === e.length - 1) return this.typeOf(e.slice(1, -1));
    let m = /^(vec[234](?:[fuih]|<\s*\w+\s*>)?)\s*\(/.exec(e);
    if (m) {
      const t = parseType(m[1]!, this.consts);
      if (t.kind !== 'other') return t;
      const n = Number(m[1]![3]);
      const args = splitTop(e.slice(m[0].length, matching(e, m[0].length - 1)));
      return { kind: 'vector', n, elem: scalarOf(this.typeOf(args[0] ?? '0')) };
    }
    m = /^(f32|f16|u32|i32|bool)\s*\(/.exec(e);
    if (m) return SCALARS[m[1]!]!;
    if (/^\d+\.\d*(e[+-]?\d+)?[fh]?$|^\d+(e[+-]?\d+)?[fh]$|^\d*\.\d+/.test(e)) return F32;
    if (/^(0x[0-9a-f]+|\d+)[iu]?$/i.test(e)) return e.endsWith('i') ? SCALARS.i32! : U32;
    m = /^(fma|select|min|max|abs|clamp|mix|exp|log|sqrt)\s*\(/.exec(e);
    if (m) {
      const args = splitTop(e.slice(m[0].length, matching(e, m[0].length - 1)));
      const known = args.map((a) => this.typeOf(a)).filter((t) => t.kind !== 'other');
      return known.sort((a, b) => lanes(b) - lanes(a))[0] ?? OTHER;
    }
    m = /^([A-Za-z_]\w*)/.exec(e);
    if (m) {
      let t = this.types.get(m[1]!) ?? (this.consts.has(m[1]!) ? U32 : OTHER);
      let rest = e.slice(m[1]!.length);
      while (rest.length) {
        if (rest[0] === '[') {
          const close = matching(rest, 0);
          if (close < 0) break;
          t = peel(t, '['); rest = rest.slice(close + 1);
        } else {
          const s = /^\.(\w+)/.exec(rest);
          if (!s) break;
          t = t.kind === 'vector' && /^[xyzwrgba]+$/.test(s[1]!) ? peel(t, s[0]) : OTHER;
          rest = rest.slice(s[0].length);
        }
      }
      if (rest.trim() === '') return t;
    }
    // A binary expression: the widest known operand decides.
    const pieces = e.split(/[-+*/%]/);
    if (pieces.length < 2) return OTHER;
    const parts = pieces.map((s) => this.typeOf(s)).filter((t) => t.kind !== 'other');
    return parts.sort((a, b) => lanes(b) - lanes(a) || Number(isFloat(b)) - Number(isFloat(a)))[0] ?? OTHER;
  }

  /** Records `let|var name [: T] = expr` declarations found in `text`. */
  declare(text: string): void {
    for (const m of text.matchAll(/\b(?:let|var)\s+(\w+)\s*(?::\s*([^=;]+?))?\s*(?:=\s*([^;]+))?;/g)) {
      const declared = m[2] ? parseType(m[2], this.consts) : null;
      this.types.set(m[1]!, declared && declared.kind !== 'other' ? declared : m[3] ? this.typeOf(m[3]) : OTHER);
    }
  }
}

function scalarOf(t: WType): WType {
  return t.kind === 'vector' ? t.elem : t;
}

// ---- counting ----------------------------------------------------------------

interface Globals {
  consts: Map<string, number>;
  workgroup: Map<string, WType>;
  storage: Map<string, WType>;
  functions: Map<string, { params: string; body: string }>;
}

/** Reads of `name[...]` in `text`, skipping stores (`name[...] =`, `name[...].x =`). */
function indexedReads(text: string, name: string): number {
  let count = 0;
  for (const m of text.matchAll(new RegExp(`(?<![\\w.])${name}\\s*\\[`, 'g'))) {
    const close = matching(text, m.index + m[0].length - 1);
    const after = text.slice(close + 1).replace(/^\s*(\.\w+|\[[^\]]*\])*/, '');
    if (/^\s*[-+*/%]?=(?!=)/.test(after)) {
      // A compound store (`+=`) also reads.
      if (/^\s*[-+*/%]=/.test(after)) count++;
      continue;
    }
    count++;
  }
  return count;
}

/** Multiply-adds of the statements in `text` (fma calls, `x += a * b`, `dot`), in scalar lanes. */
function multiplyAdds(text: string, scope: Scope): number {
  let macs = 0;
  for (const m of text.matchAll(/\bfma\s*\(/g)) {
    const open = m.index + m[0].length - 1;
    const args = splitTop(text.slice(open + 1, matching(text, open)));
    macs += Math.max(...args.map((a) => lanes(scope.typeOf(a))));
  }
  for (const m of text.matchAll(/\bdot\s*\(/g)) {
    const open = m.index + m[0].length - 1;
    const args = splitTop(text.slice(open + 1, matching(text, open)));
    macs += lanes(scope.typeOf(args[0] ?? ''));
  }
  for (const stmt of text.split(/[;{}]/)) {
    const m = /^\s*([\w.[\]\s]+?)\s*\+=\s*([\s\S]+)$/.exec(stmt);
    if (!m || /\bfma\s*\(/.test(m[2]!)) continue;
    const products = topLevelProducts(m[2]!);
    if (products > 0) macs += products * lanes(scope.typeOf(m[1]!));
  }
  return macs;
}

/** How many `a * b` terms are summed at the top level of an expression ("a * b + c * d" -> 2). */
function topLevelProducts(expr: string): number {
  let depth = 0, terms = 0, hasProduct = false;
  for (const ch of `${expr}+`) {
    if ('([<'.includes(ch)) depth++;
    else if (')]>'.includes(ch)) depth--;
    else if (depth === 0 && ch === '*') hasProduct = true;
    else if (depth === 0 && (ch === '+' || ch === '-')) { if (hasProduct) terms++; hasProduct = false; }
  }
  return terms;
}

/** Integer divisions/modulos in `text` whose divisor is not a constant power of two; their code. */
function integerDivisions(text: string, scope: Scope): string[] {
  const sites: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch !== '/' && ch !== '%') continue;
    const left = operandBefore(text, i);
    const compound = text[i + 1] === '=';
    const right = operandAfter(text, compound ? i + 2 : i + 1);
    if (!left || !right) continue;
    if (isFloat(scope.typeOf(left)) || isFloat(scope.typeOf(right))) continue;
    const divisor = evalConst(right, scope.consts);
    if (divisor !== null && divisor > 0 && (divisor & (divisor - 1)) === 0) continue;
    sites.push(`${left} ${ch} ${right}`);
  }
  return sites;
}

/** Loops at the top level of `text`: their header, body range and whole range. */
function topLevelLoops(text: string): Array<{ header: string; start: number; end: number; bodyStart: number; bodyEnd: number; control: string }> {
  const loops = [];
  const re = /\b(for|while|loop)\b/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const kw = m[1]!;
    let control = '';
    let i = m.index + kw.length;
    if (kw === 'for') {
      const open = text.indexOf('(', i);
      const close = matching(text, open);
      control = text.slice(open + 1, close);
      i = close + 1;
    }
    const bodyStart = text.indexOf('{', i);
    if (kw === 'while') control = text.slice(i, bodyStart).trim();
    const bodyEnd = matching(text, bodyStart);
    if (bodyStart < 0 || bodyEnd < 0) break;
    loops.push({ header: text.slice(m.index, bodyStart).trim().replace(/\s+/g, ' '), start: m.index, end: bodyEnd + 1, bodyStart: bodyStart + 1, bodyEnd, control });
    re.lastIndex = bodyEnd + 1;
  }
  return loops;
}

/** Iterations of `for (var v = A; v < B; v += S)` when B and S are constants (A a constant, or an invocation index below S: B / S on average). */
export function tripCount(control: string, consts: ReadonlyMap<string, number>): number | null {
  const parts = control.split(';').map((s) => s.trim());
  if (parts.length !== 3) return null;
  const init = /^(?:var|let)?\s*(\w+)\s*(?::\s*\w+\s*)?=\s*(.+)$/.exec(parts[0]!);
  const cond = /^(\w+)\s*(<=?)\s*(.+)$/.exec(parts[1]!);
  if (!init || !cond || cond[1] !== init[1]) return null;
  const v = init[1]!;
  let step: number | null = null;
  if (new RegExp(`^${v}\\s*\\+\\+$`).test(parts[2]!)) step = 1;
  const inc = new RegExp(`^${v}\\s*\\+=\\s*(.+)$`).exec(parts[2]!) ?? new RegExp(`^${v}\\s*=\\s*${v}\\s*\\+\\s*(.+)$`).exec(parts[2]!);
  if (inc) step = evalConst(inc[1]!, consts);
  const bound = evalConst(cond[3]!, consts);
  if (step === null || step <= 0 || bound === null) return null;
  const last = cond[2] === '<=' ? bound + 1 : bound;
  const start = evalConst(init[2]!, consts);
  return start === null ? last / step : Math.max(0, Math.ceil((last - start) / step));
}

function emptyCounts(): LoopCounts {
  return { macs: 0, sharedLoads: 0, globalBytes: 0, divisions: 0 };
}

/** The block tree of `text` at loop depth `depth`, with user functions inlined where they are called. */
function buildBlock(g: Globals, scope: Scope, text: string, header: string, depth: number, trips: number | null, stack: string[]): Block {
  const loops = topLevelLoops(text);
  let own = '';
  let last = 0;
  for (const l of loops) { own += `${text.slice(last, l.start)};${l.control};`; last = l.end; }
  own += text.slice(last);
  scope.declare(own);
  const block: Block = { header, depth, trips, own: emptyCounts(), divisionSites: [], children: [] };
  for (const l of loops) {
    const inner = new Scope(scope.consts, new Map(scope.types));
    inner.declare(`${l.control};`);
    const body = text.slice(l.bodyStart, l.bodyEnd);
    block.children.push(buildBlock(g, inner, body, l.header, depth + 1, tripCount(l.control, g.consts), stack));
  }
  block.own.macs = multiplyAdds(own, scope);
  for (const [name] of g.workgroup) block.own.sharedLoads += indexedReads(own, name);
  for (const [name, t] of g.storage) block.own.globalBytes += indexedReads(own, name) * typeBytes(t.kind === 'array' ? t.elem : t);
  block.divisionSites = integerDivisions(own, scope);
  block.own.divisions = block.divisionSites.length;
  for (const m of own.matchAll(/\b([A-Za-z_]\w*)\s*\(/g)) {
    const fn = g.functions.get(m[1]!);
    if (!fn || stack.includes(m[1]!)) continue;
    const callee = functionBlock(g, m[1]!, depth, [...stack, m[1]!]);
    addCounts(block.own, callee.own, 1);
    block.divisionSites.push(...callee.divisionSites.map((s) => `${s} (in ${m[1]})`));
    block.children.push(...callee.children);
  }
  return block;
}

function functionBlock(g: Globals, name: string, depth: number, stack: string[]): Block {
  const fn = g.functions.get(name)!;
  const scope = new Scope(g.consts, new Map([...g.storage, ...g.workgroup]));
  for (const p of splitTop(fn.params)) {
    const m = /(\w+)\s*:\s*([\s\S]+)$/.exec(p.replace(/@\w+(\([^)]*\))?/g, ''));
    if (m) scope.types.set(m[1]!, parseType(m[2]!, g.consts));
  }
  return buildBlock(g, scope, fn.body, `fn ${name}`, depth, 1, stack);
}

function addCounts(to: LoopCounts, from: LoopCounts, times: number): void {
  to.macs += from.macs * times;
  to.sharedLoads += from.sharedLoads * times;
  to.globalBytes += from.globalBytes * times;
  to.divisions += from.divisions * times;
}

/** Counts per iteration of `b`, over the loops inside it (a loop of unknown trips counts once). */
function inclusive(b: Block): LoopCounts {
  const c = { ...b.own };
  for (const child of b.children) addCounts(c, inclusive(child), child.trips ?? 1);
  return c;
}

/** Every block of the tree, outermost first. */
function allBlocks(b: Block): Block[] {
  return [b, ...b.children.flatMap(allBlocks)];
}

function parseGlobals(code: string): Globals {
  const consts = collectConsts(code);
  const workgroup = new Map<string, WType>();
  const storage = new Map<string, WType>();
  for (const m of code.matchAll(/\bvar<\s*(workgroup|storage)[^>]*>\s*(\w+)\s*:\s*/g)) {
    const start = m.index + m[0].length;
    const end = code.indexOf(';', start);
    const t = parseType(code.slice(start, end), consts);
    (m[1] === 'workgroup' ? workgroup : storage).set(m[2]!, t);
  }
  const functions = new Map<string, { params: string; body: string }>();
  for (const m of code.matchAll(/\bfn\s+(\w+)\s*\(/g)) {
    const open = m.index + m[0].length - 1;
    const close = matching(code, open);
    const bodyStart = code.indexOf('{', close);
    const bodyEnd = matching(code, bodyStart);
    functions.set(m[1]!, { params: code.slice(open + 1, close), body: code.slice(bodyStart + 1, bodyEnd) });
  }
  return { consts, workgroup, storage, functions };
}

/** The compute entry point's name and its @workgroup_size arguments. */
function entryPoint(code: string): { name: string; size: string[] } | null {
  const m = /@compute[\s\S]*?@workgroup_size\s*\(([^)]*)\)[\s\S]*?\bfn\s+(\w+)/.exec(code)
    ?? /@workgroup_size\s*\(([^)]*)\)[\s\S]*?@compute[\s\S]*?\bfn\s+(\w+)/.exec(code);
  return m ? { name: m[2]!, size: splitTop(m[1]!) } : null;
}

export function analyzeWgsl(source: string): WgslReport {
  const code = stripComments(source);
  const g = parseGlobals(code);
  const entry = entryPoint(code);
  const dims = entry?.size.map((s) => evalConst(s, g.consts)) ?? [];
  const invocations = dims.length && dims.every((d) => d !== null) ? dims.reduce((a, b) => a! * b!, 1) : null;
  const workgroupVars = [...g.workgroup].map(([name, t]) => ({ name, bytes: typeBytes(t) }));
  const report: WgslReport = {
    invocations,
    workgroupBytes: workgroupVars.reduce((s, v) => s + v.bytes, 0),
    workgroupVars,
    innerDivisions: 0, innerDivisionSites: [],
    hot: null, hotLoop: null, macsPerSharedLoad: null, macsPerGlobalByte: null,
  };
  if (!entry || !g.functions.has(entry.name)) return report;
  const tree = functionBlock(g, entry.name, 0, [entry.name]);
  const blocks = allBlocks(tree);
  // The hot loop: the deepest run-time loop that does multiply-adds (ties: the most of them).
  const candidates = blocks.filter((b) => b.depth >= 1 && b.trips === null).map((b) => ({ b, c: inclusive(b) })).filter((x) => x.c.macs > 0);
  candidates.sort((x, y) => y.b.depth - x.b.depth || y.c.macs - x.c.macs);
  const hot = candidates[0];
  // Inner loops: the hot loop and the loops inside it (the K walk's staging and compute), else any loop inside a loop.
  for (const b of hot ? allBlocks(hot.b) : blocks.filter((x) => x.depth >= 2)) report.innerDivisionSites.push(...b.divisionSites);
  report.innerDivisions = report.innerDivisionSites.length;
  if (hot) {
    report.hot = hot.c;
    report.hotLoop = hot.b.header;
    report.macsPerSharedLoad = hot.c.sharedLoads > 0 ? hot.c.macs / hot.c.sharedLoads : null;
    report.macsPerGlobalByte = hot.c.globalBytes > 0 ? hot.c.macs / hot.c.globalBytes : null;
  }
  return report;
}
