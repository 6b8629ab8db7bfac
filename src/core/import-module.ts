/**
 * import() of a module outside the CLI bundle: a plugin named by a config, kafkajs, cron, a codec.
 * Every such import goes through here because bin/netagent runs the bundle compiled from V8's code
 * cache, and code restored from that cache has lost what Node needs to serve its own import()
 * calls (the script's host-defined options: "A dynamic import callback was not specified"). So
 * bin/netagent lends its own import(); without it (tests, dist/src) this module's
 * import() serves. Bare names resolve the same from either: both live in the netagent package.
 */
const LENT_IMPORT = Symbol.for('netagent.import');

type Importer = (specifier: string) => Promise<unknown>;

export function importModule<T>(specifier: string): Promise<T> {
  const lent = (globalThis as Record<symbol, Importer | undefined>)[LENT_IMPORT];
  return (lent ? lent(specifier) : import(/* @vite-ignore */ specifier)) as Promise<T>;
}
