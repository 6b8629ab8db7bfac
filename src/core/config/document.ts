/**
 * A YAML config document that remembers where every value came from, so any problem can be told as
 * `FILE:LINE:COL: <yaml path>: <message>`.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type ScalarTag } from 'yaml';
import type { ConfigProblem } from '../errors.js';

export type PathSegment = string | number;

/** `collectors[0].options.mode` */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${seg}` : seg;
  return out;
}

/** `/collectors/0/options` (JSON pointer, as TypeBox reports it) to segments. */
export function pointerToPath(pointer: string): PathSegment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/**
 * A config larger than this is refused before it is parsed: a real one is a few kilobytes, and a
 * 50 MB one took 9 s and 1.9 GB to refuse for other reasons.
 */
export const MAX_CONFIG_BYTES = 1 << 20;

/**
 * Alias expansions allowed in one document: YAML aliases to aliases grow exponentially (a "billion
 * laughs" document), and no netagent config needs more than a few.
 */
const MAX_ALIAS_COUNT = 100;

/**
 * `${VAR}`, `${VAR:-default}` and `${VAR-default}` are substituted into the scalar values after
 * parsing, so a value can never inject YAML (a newline or `: ` in a variable stays part of that
 * one string). Before parsing, each expression is swapped for a placeholder of exactly its length,
 * made of characters from Unicode's private use area that YAML takes as plain text anywhere (also
 * in flow mappings, where `{` of `${` would not be): every position the parser reports is the
 * position in the file. A plain (unquoted) value that is placeholders and text only is then typed
 * like a literal scalar (`count: ${N}` is a number); a quoted one stays a string.
 */
const MARK = 0xe000;
const PAD = 0xe001;
const FIRST_INDEX = 0xe100;
const LAST_INDEX = 0xf8ff;
const PLACEHOLDER = /\ue000([\ue100-\uf8ff])\ue001*/g;
const PRIVATE_USE = /[\ue000-\uf8ff]/;

/** What one expression stands for: its value, where it starts, and the variables it found unset. */
interface Substitution {
  readonly value: string;
  readonly offset: number;
  readonly source: string;
  readonly unset: readonly string[];
}

/** Parses `${…}` at `text[at]` (its `$`): the end (after `}`), the value, unset names; null when not one. */
function expression(text: string, at: number, env: NodeJS.ProcessEnv, unset: string[]): { end: number; value: string } | null | 'unclosed' {
  const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(at + 2, at + 2 + 256))?.[0];
  if (name === undefined) return null;
  let i = at + 2 + name.length;
  const value = env[name];
  if (text[i] === '}') {
    if (value === undefined) unset.push(name);
    return { end: i + 1, value: value ?? '' };
  }
  const op = text.startsWith(':-', i) ? ':-' : text[i] === '-' ? '-' : null;
  if (op === null) return text[i] === undefined || text[i] === '\n' ? 'unclosed' : null;
  i += op.length;
  // The default runs to the matching `}`; it may hold expressions of its own.
  let fallback = '';
  const fallbackUnset: string[] = [];
  while (i < text.length && text[i] !== '}' && text[i] !== '\n') {
    if (text.startsWith('$${', i)) {
      fallback += '${';
      i += 3;
    } else if (text.startsWith('${', i)) {
      const inner = expression(text, i, env, fallbackUnset);
      if (inner === 'unclosed') return inner;
      if (inner === null) {
        fallback += '${';
        i += 2;
      } else {
        fallback += inner.value;
        i = inner.end;
      }
    } else fallback += text[i++];
  }
  if (text[i] !== '}') return 'unclosed';
  const useFallback = op === ':-' ? value === undefined || value === '' : value === undefined;
  if (useFallback) unset.push(...fallbackUnset);
  return { end: i + 1, value: useFallback ? fallback : value! };
}

/** Swaps every expression (and `$${`, a literal `${`) for a placeholder of the same length. */
function withPlaceholders(file: string, text: string, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): { text: string; substitutions: Substitution[] } {
  const substitutions: Substitution[] = [];
  if (!text.includes('${')) return { text, substitutions };
  const lines = new LineCounter();
  lines.addNewLine(0);
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines.addNewLine(i + 1);
  const at = (offset: number) => lines.linePos(offset);
  if (PRIVATE_USE.test(text)) {
    const offset = text.search(PRIVATE_USE);
    problems.push({ file, ...at(offset), path: '', message: 'a config with ${VAR} substitutions may not contain characters of the Unicode private use area (U+E000–U+F8FF)' });
    return { text, substitutions };
  }
  let out = '';
  let last = 0;
  for (let i = text.indexOf('$'); i >= 0 && i < text.length; i = text.indexOf('$', i)) {
    // Whole-line comments are no values: whatever they say is left alone.
    const lineStart = text.lastIndexOf('\n', i) + 1;
    if (/^\s*#/.test(text.slice(lineStart, i + 1))) {
      const next = text.indexOf('\n', i);
      if (next < 0) break;
      i = next;
      continue;
    }
    let found: { end: number; value: string; unset: string[] } | null = null;
    if (text.startsWith('$${', i)) found = { end: i + 3, value: '${', unset: [] };
    else if (text.startsWith('${', i)) {
      const unset: string[] = [];
      const e = expression(text, i, env, unset);
      if (e === 'unclosed') {
        problems.push({ file, ...at(i), path: '', message: 'unclosed ${ (write $${ for a literal ${)' });
        i += 2;
        continue;
      }
      if (e !== null) found = { ...e, unset };
    }
    if (found === null) {
      i++;
      continue;
    }
    if (FIRST_INDEX + substitutions.length > LAST_INDEX) {
      problems.push({ file, ...at(i), path: '', message: `more than ${LAST_INDEX - FIRST_INDEX + 1} \${…} substitutions` });
      break;
    }
    const length = found.end - i;
    out += text.slice(last, i) + String.fromCharCode(MARK, FIRST_INDEX + substitutions.length) + String.fromCharCode(PAD).repeat(length - 2);
    substitutions.push({ value: found.value, offset: i, source: text.slice(i, found.end), unset: found.unset });
    last = i = found.end;
  }
  return { text: out + text.slice(last), substitutions };
}

export class ConfigDocument {
  private constructor(
    readonly file: string,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    /** The document as plain data, after ${VAR} substitution. */
    readonly value: unknown,
    readonly problems: ConfigProblem[],
  ) {}

  /** Parses YAML text and substitutes `${VAR}`, `${VAR:-default}`, `${VAR-default}` from `env`. */
  static parse(file: string, text: string, env: NodeJS.ProcessEnv): ConfigDocument {
    const problems: ConfigProblem[] = [];
    const { text: parsed, substitutions } = withPlaceholders(file, text, env, problems);
    const lines = new LineCounter();
    const doc = parseDocument(parsed, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    // Messages tell the expressions as written, not their placeholders.
    const unplaceholder = (message: string) => message.replace(PLACEHOLDER, (_, index: string) => substitutions[index.charCodeAt(0) - FIRST_INDEX]!.source);
    // After the first syntax error the parser's further complaints are mostly its consequences.
    const first = doc.errors[0];
    if (first) {
      const pos = lines.linePos(first.pos[0]);
      const more = doc.errors.length > 1 ? ` (${doc.errors.length - 1} more YAML errors follow from it)` : '';
      problems.push({ file, line: pos.line, col: pos.col, path: '', message: `YAML syntax error: ${unplaceholder(first.message.split('\n')[0]!)}${more}` });
    }
    let value: unknown;
    if (doc.errors.length === 0) {
      if (substitutions.length > 0) substitute(file, doc, lines, substitutions, problems);
      try {
        value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
      } catch (err) {
        problems.push({ file, ...lines.linePos(firstAlias(doc)?.range?.[0] ?? 0), path: '', message: `YAML aliases expand too far (${(err as Error).message}); refused` });
      }
    }
    const self = new ConfigDocument(file, doc, lines, value, problems);
    // Substitution problems know their line and column; name the YAML path found there.
    for (const [i, p] of problems.entries()) {
      if (p.path === '' && doc.errors.length === 0) problems[i] = { ...p, path: formatPath(self.pathAt(lines, p.line, p.col)) };
    }
    return self;
  }

  /** Where the value (or with `atKey`, the key) at `path` starts; the nearest existing ancestor otherwise. */
  position(path: readonly PathSegment[], atKey = false): { line: number; col: number } {
    let node: unknown = this.doc.contents;
    let offset = node && (node as Node).range ? (node as Node).range![0] : 0;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        const keyNode = pair.key as Node;
        offset = keyNode.range?.[0] ?? offset;
        node = pair.value;
        if (!atKey && node && (node as Node).range) offset = (node as Node).range![0];
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
        node = node.items[seg];
        offset = (node as Node).range?.[0] ?? offset;
      } else break;
    }
    return this.lines.linePos(offset);
  }

  /** The path of the innermost value whose source covers `line:col`. */
  private pathAt(lines: LineCounter, line: number, col: number): PathSegment[] {
    const offset = lines.lineStarts[line - 1]! + col - 1;
    const path: PathSegment[] = [];
    const covers = (n: unknown) => !!n && !!(n as Node).range && (n as Node).range![0] <= offset && offset <= (n as Node).range![1];
    let node: unknown = this.doc.contents;
    for (;;) {
      if (isMap(node)) {
        const pair = node.items.find((p) => covers(p.value) || covers(p.key));
        if (!pair || !isScalar(pair.key)) break;
        path.push(String(pair.key.value));
        node = pair.value;
      } else if (isSeq(node)) {
        const index = node.items.findIndex(covers);
        if (index < 0) break;
        path.push(index);
        node = node.items[index];
      } else break;
    }
    return path;
  }

  problem(path: readonly PathSegment[], message: string, atKey = false): ConfigProblem {
    const { line, col } = this.position(path, atKey);
    return { file: this.file, line, col, path: formatPath(path), message };
  }
}

/** Replaces the placeholders in every scalar by their values, typing plain scalars as YAML would. */
function substitute(file: string, doc: Document.Parsed, lines: LineCounter, substitutions: readonly Substitution[], problems: ConfigProblem[]): void {
  const tags = doc.schema.tags.filter((t): t is ScalarTag & { test: RegExp } => 'test' in t && t.test instanceof RegExp);
  visit(doc, {
    Scalar: (_, node) => {
      if (typeof node.value !== 'string' || !node.value.includes('\ue000')) return;
      const text = node.value.replace(PLACEHOLDER, (_m, index: string) => {
        const s = substitutions[index.charCodeAt(0) - FIRST_INDEX]!;
        for (const name of s.unset) {
          problems.push({
            file, ...lines.linePos(s.offset), path: '',
            message: `environment variable ${name} is not set (write \${${name}:-default} to give a default)`,
          });
        }
        return s.value;
      });
      node.value = node.type === 'PLAIN' && text !== '' ? typedLikeLiteral(text, tags, doc) : text;
    },
  });
}

function firstAlias(doc: Document.Parsed): Node | undefined {
  let found: Node | undefined;
  visit(doc, {
    Alias: (_, node) => {
      found = node;
      return visit.BREAK;
    },
  });
  return found;
}

/** `text` as YAML's core schema would type it written as a plain scalar: a number, a boolean, null or a string. */
function typedLikeLiteral(text: string, tags: readonly (ScalarTag & { test: RegExp })[], doc: Document.Parsed): unknown {
  const tag = tags.find((t) => t.test.test(text));
  if (!tag) return text;
  const resolved = tag.resolve(text, () => {}, doc.options);
  return isScalar(resolved) ? resolved.value : resolved;
}
