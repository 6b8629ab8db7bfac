/**
 * Fills in a schema's defaults where a value is missing, and only there. TypeBox's Value.Default
 * also replaces a value of the wrong type by the default (`collectors: {tcp: …}` became `[]`, and
 * validated) and turns an array given for a map into an object (`tags: [a, b]` became
 * `{"0":"a","1":"b"}`): the type check after it then passed what the user never wrote.
 */
import { Kind, type TSchema } from '@sinclair/typebox';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `value` (a copy where defaults go in) with every missing property that has a default filled in. */
export function withDefaults(schema: TSchema, value: unknown): unknown {
  if (value === undefined) {
    if (schema.default === undefined) return undefined;
    value = structuredClone(schema.default);
  }
  switch (schema[Kind]) {
    case 'Object': {
      if (!isPlainObject(value)) return value;
      const out: Record<string, unknown> = { ...value };
      for (const [key, property] of Object.entries(schema.properties as Record<string, TSchema>)) {
        const filled = withDefaults(property, out[key]);
        if (filled !== undefined) out[key] = filled;
      }
      return out;
    }
    case 'Array':
      return Array.isArray(value) ? value.map((item) => withDefaults(schema.items as TSchema, item)) : value;
    case 'Record': {
      if (!isPlainObject(value)) return value;
      const [valueSchema] = Object.values(schema.patternProperties as Record<string, TSchema>);
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withDefaults(valueSchema!, v)]));
    }
    default:
      return value;
  }
}
