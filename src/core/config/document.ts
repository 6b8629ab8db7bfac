/**
 * A YAML config document that remembers where every value came from, so any problem can be told as
 * `FILE:LINE:COL: <yaml path>: <message>`.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
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
 * `${VAR}` and `${VAR:-default}` are replaced in the text before parsing, as Telegraf and Vector
 * do, so a value is typed as if written literally (`count: ${N}` is a number) and works inside
 * flow mappings. `$${` stands for a literal `${`. Whole-line comments are left alone.
 */
function substituteEnv(file: string, text: string, env: NodeJS.ProcessEnv, problems: ConfigProblem[]): string {
  return text
    .split('\n')
    .map((line, index) => {
      if (!line.includes('${') || /^\s*#/.test(line)) return line;
      return line.replace(/\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (whole, name: string | undefined, fallback: string | undefined, col: number) => {
        if (whole === '$${') return '${';
        const value = env[name!];
        if (value !== undefined && value !== '') return value;
        if (fallback !== undefined) return fallback;
        problems.push({
          file, line: index + 1, col: col + 1, path: '',
          message: `environment variable ${name} is not set (write \${${name}:-default} to give a default)`,
        });
        return '';
      });
    })
    .join('\n');
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

  /** Parses YAML text and substitutes `${VAR}` / `${VAR:-default}` from `env`. */
  static parse(file: string, text: string, env: NodeJS.ProcessEnv): ConfigDocument {
    const problems: ConfigProblem[] = [];
    const substituted = substituteEnv(file, text, env, problems);
    const lines = new LineCounter();
    const doc = parseDocument(substituted, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    // After the first syntax error the parser's further complaints are mostly its consequences.
    const first = doc.errors[0];
    if (first) {
      const pos = lines.linePos(first.pos[0]);
      const more = doc.errors.length > 1 ? ` (${doc.errors.length - 1} more YAML errors follow from it)` : '';
      problems.push({ file, line: pos.line, col: pos.col, path: '', message: `YAML syntax error: ${first.message.split('\n')[0]}${more}` });
    }
    const self = new ConfigDocument(file, doc, lines, doc.errors.length > 0 ? undefined : (doc.toJS() ?? {}), problems);
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
