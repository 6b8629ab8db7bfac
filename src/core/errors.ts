/** Errors that cross module boundaries. Each says whether retrying can help. */

/** Raised by Sink.write/open. `retriable` tells the pipeline whether to retry the same batch. */
export class SinkError extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SinkError';
  }
}

/** One problem found in a config file, positioned for `FILE:LINE:COL: <path>: <message>`. */
export interface ConfigProblem {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** YAML path such as `collectors[0].options.mode`; empty for the document itself. */
  readonly path: string;
  readonly message: string;
}

/** Every problem of a config at once; the CLI prints them one per line and exits 78. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const sorted = [...problems].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
    super(sorted.map(formatProblem).join('\n'));
    this.problems = sorted;
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.path || '<document>'}: ${p.message}`;
}

/** What a thrown value says: an Error's message, anything else as text (a plugin may throw a string). */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An error's first line: module loaders and DI append lines that say nothing to a config author. */
export function messageOf(err: unknown): string {
  return errorMessage(err).split('\n')[0]!;
}
