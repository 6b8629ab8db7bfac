/**
 * Schema helpers shared by the core and plugin option schemas, with error messages a user can act
 * on ("expected one of: sockets, summary, both" rather than "Expected union value").
 */
import { FormatRegistry, Kind, Type, type SchemaOptions, type TLiteral, type TSchema, type TUnion } from '@sinclair/typebox';
import { DefaultErrorFunction, SetErrorFunction } from '@sinclair/typebox/errors';
import { parseDuration, parseSize } from '../units.js';

FormatRegistry.Set('duration', (v) => parseDuration(v) !== undefined);
FormatRegistry.Set('positive duration', (v) => (parseDuration(v) ?? 0) > 0);
FormatRegistry.Set('size', (v) => parseSize(v) !== undefined);

SetErrorFunction((param) => {
  const schema = param.schema as TSchema & { errorMessage?: string; format?: string };
  if (schema.errorMessage) return schema.errorMessage;
  if (schema.format === 'duration') return 'expected a duration such as 500ms, 10s, 1m';
  if (schema.format === 'positive duration') return 'expected a duration above 0, such as 500ms, 10s, 1m';
  if (schema.format === 'size') return 'expected a size such as 1048576, 512KiB, 10MB';
  if (schema[Kind] === 'Union') {
    const literals = (schema as TUnion).anyOf.filter((s): s is TLiteral => s[Kind] === 'Literal');
    if (literals.length === (schema as TUnion).anyOf.length) {
      return `expected one of: ${literals.map((l) => String(l.const)).join(', ')}`;
    }
  }
  return DefaultErrorFunction(param).replace(/^Expected/, 'expected');
});

/** One of a fixed list of strings. */
export function StringEnum<T extends string>(values: readonly [T, ...T[]], options: SchemaOptions = {}): TUnion<TLiteral<T>[]> {
  return Type.Union(values.map((v) => Type.Literal(v)), options);
}

/** A duration string (`10s`); convert with parseDuration. */
export function Duration(options: SchemaOptions = {}) {
  return Type.String({ format: 'duration', ...options });
}

/** A duration above 0: a period, a timeout or a backoff, which 0 would turn into a busy loop. */
export function PositiveDuration(options: SchemaOptions = {}) {
  return Type.String({ format: 'positive duration', ...options });
}

/** A size: bytes as an integer, or a string such as `10MB`; convert with parseSize. */
export function Size(options: SchemaOptions = {}) {
  return Type.Union([Type.Integer({ minimum: 0 }), Type.String({ format: 'size' })], {
    errorMessage: 'expected a size such as 1048576, 512KiB, 10MB',
    ...options,
  });
}
