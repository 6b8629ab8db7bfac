/**
 * The _bulk API, as pure functions: where an event goes (data stream or index name), the request
 * body, and what each item of the response means for its event.
 */
import type { DeadLetterReason } from '../../../src/core/dead-letter.js';

/** `logs` for state rows, `metrics` for metric events: the data stream's type. */
export function dataStreamType(kind: unknown): 'logs' | 'metrics' {
  return kind === 'metric' ? 'metrics' : 'logs';
}

/**
 * The data stream's dataset, `netagent.<event.dataset>`: lower case, and `-` (which separates
 * type, dataset and namespace in the name) or any character a name may not hold as `_`.
 */
export function dataStreamDataset(dataset: string): string {
  return `netagent.${dataset.toLowerCase().replace(/[^a-z0-9._]/g, '_')}`;
}

/**
 * An index name a node accepts, from a template's output: lower case, no \ / * ? " < > | , # :
 * or white space, not starting with - _ +, at most 255 bytes.
 */
export function sanitizeIndex(name: string): string {
  let n = name.toLowerCase().replace(/[\\/*?"<>|,#:\s]/g, '_').replace(/^[-_+.]+/, '');
  while (Buffer.byteLength(n) > 255) n = n.slice(0, -1);
  return n === '' || n === '.' || n === '..' ? 'netagent' : n;
}

/** `{"data_stream":{…},` to put in place of a document's opening brace. */
export function dataStreamPrefix(type: string, dataset: string, namespace: string): Buffer {
  return Buffer.from(`{"data_stream":${JSON.stringify({ type, dataset, namespace })},`);
}

export interface BulkDocument {
  /** Index or data stream. */
  readonly destination: string;
  /** Document id; null: the node assigns one. */
  readonly key: string | null;
  /** The document, one line of JSON. */
  readonly value: string | Buffer;
}

/**
 * The NDJSON body of a bulk request: a `create` action per document (what data streams take, and
 * with ids what makes a re-send harmless: the node answers 409 for a document it already has).
 */
export function bulkBody(docs: readonly BulkDocument[]): Buffer {
  const parts: Buffer[] = [];
  const newline = Buffer.from('\n');
  let lastAction = '';
  let lastActionBytes: Buffer | null = null;
  for (const d of docs) {
    const action = `{"create":{"_index":${JSON.stringify(d.destination)}${d.key === null ? '' : `,"_id":${JSON.stringify(d.key)}`}}}\n`;
    if (action !== lastAction) {
      lastAction = action;
      lastActionBytes = Buffer.from(action);
    }
    parts.push(lastActionBytes!, typeof d.value === 'string' ? Buffer.from(d.value) : d.value, newline);
  }
  return Buffer.concat(parts);
}

/** Asks the node for only what delivery reads of a bulk response. */
export const BULK_PATH = '_bulk?filter_path=errors,items.*.status,items.*.error';

export type ItemOutcome =
  | { readonly kind: 'stored' }
  /** 409: the document is already there (a re-send of what was stored before). */
  | { readonly kind: 'duplicate' }
  /** 429 or 5xx: the node could not take it now; send it again. */
  | { readonly kind: 'retry'; readonly status: number; readonly reason: string }
  /** Any other refusal (a mapping conflict…): sending it again cannot help. */
  | { readonly kind: 'rejected'; readonly status: number; readonly error: BulkItemError };

export type BulkItemError = DeadLetterReason;

interface RawItemError {
  type?: string;
  reason?: string;
  caused_by?: { type?: string; reason?: string };
}

/**
 * One outcome per document of the request, in order; null when the response is not a bulk
 * response for `count` documents (then the whole request counts as failed).
 */
export function bulkOutcomes(body: unknown, count: number): ItemOutcome[] | null {
  const r = body as { errors?: boolean; items?: Record<string, { status?: number; error?: RawItemError }>[] } | null;
  if (!r || typeof r.errors !== 'boolean') return null;
  if (r.errors === false && r.items === undefined) return Array.from({ length: count }, () => STORED);
  if (!Array.isArray(r.items) || r.items.length !== count) return null;
  return r.items.map((item) => {
    const result = Object.values(item)[0] ?? {};
    const status = result.status ?? 0;
    if (status >= 200 && status < 300) return STORED;
    if (status === 409) return DUPLICATE;
    const reason = describe(result.error);
    if (status === 429 || status >= 500) return { kind: 'retry', status, reason };
    const e = result.error ?? {};
    return {
      kind: 'rejected',
      status,
      error: { type: e.type ?? 'unknown', reason: e.reason ?? reason, field: fieldOf(e), ...(e.caused_by ? { caused_by: e.caused_by } : {}) },
    };
  });
}

const STORED: ItemOutcome = { kind: 'stored' };
const DUPLICATE: ItemOutcome = { kind: 'duplicate' };

function describe(e: RawItemError | undefined): string {
  if (!e) return 'no reason given';
  const cause = e.caused_by?.reason ? `: ${e.caused_by.reason}` : '';
  return `${e.type ?? 'error'}: ${e.reason ?? ''}${cause}`;
}

/** `failed to parse field [socket.families.ipv4] of type [long]…` → `socket.families.ipv4`. */
function fieldOf(e: RawItemError): string | null {
  const m = /field \[([^\]]+)\]/.exec(`${e.reason ?? ''} ${e.caused_by?.reason ?? ''}`);
  return m ? m[1]! : null;
}
