/**
 * A YAML config document that remembers where every value came from, so any problem can be told as
 * `FILE:LINE:COL: <yaml path>: <message>`.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parse, parseDocument, Scalar, visit, type Document, type Node } from 'yaml';
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

/** The path of `node` from the ancestors that yaml's visit() passes. */
function pathOf(ancestors: readonly unknown[], node: unknown): PathSegment[] {
  const path: PathSegment[] = [];
  const chain = [...ancestors, node];
  for (let i = 0; i < chain.length - 1; i++) {
    const here = chain[i];
    const next = chain[i + 1];
    if (isPair(here) && isScalar(here.key)) path.push(String(here.key.value));
    else if (isSeq(here)) path.push(here.items.indexOf(next as never));
  }
  return path;
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
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const problems: ConfigProblem[] = [];
    // After the first syntax error the parser's further complaints are mostly its consequences.
    const first = doc.errors[0];
    if (first) {
      const pos = lines.linePos(first.pos[0]);
      const more = doc.errors.length > 1 ? ` (${doc.errors.length - 1} more YAML errors follow from it)` : '';
      problems.push({ file, line: pos.line, col: pos.col, path: '', message: `YAML syntax error: ${first.message.split('\n')[0]}${more}` });
    }
    const self = new ConfigDocument(file, doc, lines, undefined, problems);
    if (doc.errors.length > 0) return self;
    self.substituteEnv(env);
    return new ConfigDocument(file, doc, lines, doc.toJS() ?? {}, problems);
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

  problem(path: readonly PathSegment[], message: string, atKey = false): ConfigProblem {
    const { line, col } = this.position(path, atKey);
    return { file: this.file, line, col, path: formatPath(path), message };
  }

  private substituteEnv(env: NodeJS.ProcessEnv): void {
    visit(this.doc, {
      Scalar: (_key, node, ancestors) => {
        if (typeof node.value !== 'string' || !node.value.includes('${')) return;
        const parentPair = ancestors[ancestors.length - 1];
        if (isPair(parentPair) && parentPair.key === node) return;
        const missing: string[] = [];
        const replaced = node.value.replace(/\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (whole, name?: string, fallback?: string) => {
          if (whole === '$${') return '${';
          const value = env[name!];
          if (value !== undefined && value !== '') return value;
          if (fallback !== undefined) return fallback;
          missing.push(name!);
          return '';
        });
        for (const name of missing) {
          const { line, col } = this.lines.linePos(node.range?.[0] ?? 0);
          this.problems.push({
            file: this.file, line, col, path: formatPath(pathOf(ancestors, node)),
            message: `environment variable ${name} is not set (write \${${name}:-default} to give a default)`,
          });
        }
        // An unquoted `${PORT:-9092}` should become the number 9092, as if written literally.
        if (node.type === Scalar.PLAIN && replaced !== '') {
          const typed: unknown = parse(replaced);
          node.value = typed !== null && typeof typed !== 'object' ? typed : replaced;
        } else node.value = replaced;
      },
    });
  }
}
