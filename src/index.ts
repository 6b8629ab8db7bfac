/**
 * The public API for plugin authors: `import { defineCollector, Type, TOKENS, … } from 'netagent'`.
 * Plugins must take `inject`/`injectable` from here (not from their own tsyringe copy), so that
 * the agent's container knows their constructor parameters.
 */
import 'reflect-metadata';
import { inject, injectable, type InjectionToken } from 'tsyringe';
import type { Constructor } from './core/plugin.js';

export { Type, type Static, type TObject } from '@sinclair/typebox';
export { inject, injectable };
export { Duration, PositiveDuration, Size, StringEnum } from './core/config/types.js';
export { SinkError } from './core/errors.js';
export { globMatcher, includeExclude } from './core/glob.js';
export { JsonBytes } from './core/json-bytes.js';
export type { NetView, ProcFs } from './core/procfs.js';
export { TOKENS } from './core/tokens.js';
export { parseDuration, parseSize } from './core/units.js';
export {
  defineCollector,
  defineSink,
  EncodedFields,
  type CollectContext,
  type Collector,
  type CollectorManifest,
  type Constructor,
  type EventFields,
  type EventKind,
  type PluginInstance,
  type OptionsCheck,
  type PluginManifest,
  type Sink,
  type SinkEvent,
  type SinkManifest,
} from './core/plugin.js';

/**
 * For plugins in plain JavaScript (no decorators): declares which token each constructor
 * parameter receives, in order. `withTokens(MyCollector, TOKENS.PluginOptions, TOKENS.Logger)`
 * is what `@injectable()` plus one `@inject(…)` per parameter do in TypeScript.
 */
export function withTokens<T>(cls: Constructor<T>, ...tokens: InjectionToken<unknown>[]): Constructor<T> {
  tokens.forEach((token, index) => inject(token)(cls, undefined as unknown as string, index));
  injectable()(cls);
  return cls;
}
