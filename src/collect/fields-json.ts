/**
 * Pre-encoded event fields. A collector emitting 100k events a cycle can encode each event's
 * fields itself (string concatenation of known-safe parts) far cheaper than JSON.stringify walks
 * the object: it attaches that text under FIELDS_JSON, beside the ordinary fields object that
 * field(path) lookups, routing and templates keep using. JSON.stringify, Object.entries and
 * deep merges ignore symbol keys, so a consumer that does not know the symbol loses nothing.
 *
 * Contract for the envelope encoder: when `typeof fields[FIELDS_JSON] === 'string'`, it is exactly
 * the JSON text of the fields object (same keys, same values), usable in place of
 * JSON.stringify(fields). Only attach it when the fields are final (no view fields merged later).
 */
export const FIELDS_JSON: unique symbol = Symbol.for('netagent.fieldsJson') as never;

export type WithFieldsJson = { [FIELDS_JSON]?: string };

/** The JSON text of a string, cached for the few distinct user and process names of a host. */
export class JsonStrings {
  private readonly cache = new Map<string, string>();
  get(s: string): string {
    let j = this.cache.get(s);
    if (j === undefined) {
      if (this.cache.size > 10_000) this.cache.clear();
      j = JSON.stringify(s);
      this.cache.set(s, j);
    }
    return j;
  }
}
