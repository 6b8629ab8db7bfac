/** Test support: options of a collector as the config loader gives them (validated, defaulted). */
import type { TObject, Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export function optionsWithDefaults<T extends TObject>(schema: T, options: Partial<Static<T>> = {}): Static<T> {
  const o = Value.Default(schema, Value.Clone(options)) as Static<T>;
  if (!Value.Check(schema, o)) {
    const first = [...Value.Errors(schema, o)][0];
    throw new Error(`invalid options: ${first?.path} ${first?.message}`);
  }
  return o;
}
