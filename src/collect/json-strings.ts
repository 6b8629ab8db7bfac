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
