/** The JSON text of a string as UTF-8, cached for the few distinct user and process names of a host. */
export class JsonStrings {
  private readonly cache = new Map<string, Buffer>();
  get(s: string): Buffer {
    let j = this.cache.get(s);
    if (j === undefined) {
      if (this.cache.size > 10_000) this.cache.clear();
      j = Buffer.from(JSON.stringify(s));
      this.cache.set(s, j);
    }
    return j;
  }
}
