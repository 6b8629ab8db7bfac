/**
 * The plugin registry: every manifest registered under TOKENS.PluginManifest, built-in or loaded
 * from a config's `plugins:` entry. Nothing registers itself by being imported.
 */
import { createRequire, register } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kind } from '@sinclair/typebox';
import { injectAll, injectable } from 'tsyringe';
import { publishAgentApi } from './agent-api.js';
import { importModule } from './import-module.js';
import { PACKAGE_ROOT } from './package-root.js';
import type { PluginManifest } from './plugin.js';
import { TOKENS } from './tokens.js';

@injectable()
export class PluginRegistry {
  private readonly byType = new Map<string, PluginManifest>();

  constructor(@injectAll(TOKENS.PluginManifest) manifests: PluginManifest[]) {
    for (const m of manifests) {
      if (this.byType.has(m.type)) throw new Error(`two plugins register the type "${m.type}"`);
      this.byType.set(m.type, m);
    }
  }

  get(type: string): PluginManifest | undefined {
    return this.byType.get(type);
  }

  list(): PluginManifest[] {
    return [...this.byType.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.type.localeCompare(b.type));
  }

  types(kind: PluginManifest['kind']): string[] {
    return this.list().filter((m) => m.kind === kind).map((m) => m.type);
  }
}

/** Why `value` is not a plugin manifest, or null when it is one. */
export function manifestProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'is not an object';
  const m = value as Record<string, unknown>;
  if (m.kind !== 'collector' && m.kind !== 'sink') return 'has no kind "collector" or "sink"';
  if (typeof m.type !== 'string' || !/^[a-z][a-z0-9_-]*$/.test(m.type)) return 'has no type (lower-case letters, digits, - and _)';
  if (typeof m.description !== 'string') return `"${m.type}" has no description`;
  const options = m.options as Record<string | symbol, unknown> | undefined;
  if (!options || options[Kind] !== 'Object') return `"${m.type}" has no options schema (a TypeBox Type.Object)`;
  if (typeof m.load !== 'function') return `"${m.type}" has no load() function`;
  if (m.kind === 'collector' && !Array.isArray(m.datasets)) return `collector "${m.type}" has no datasets list`;
  return null;
}

let apiHooksRegistered = false;

/** See plugin-api-hooks.ts; registered once, and only when a config loads plugins. */
function resolveNetagentToThisAgent(): void {
  if (apiHooksRegistered) return;
  apiHooksRegistered = true;
  const apiUrl = publishAgentApi();
  register(pathToFileURL(join(PACKAGE_ROOT, 'dist', 'src', 'core', 'plugin-api-hooks.js')).href, { data: { apiUrl } });
}

/**
 * Imports a `plugins:` entry and returns its manifests. The module's default export (or its
 * `plugins` export) is one manifest or an array of them.
 */
export async function importPluginManifests(
  entry: { path?: string; package?: string },
  configDir: string,
): Promise<PluginManifest[]> {
  resolveNetagentToThisAgent();
  let specifier: string;
  if (entry.path !== undefined) {
    const path = isAbsolute(entry.path) ? entry.path : resolve(configDir, entry.path);
    specifier = pathToFileURL(createRequire(pathToFileURL(resolve(configDir, 'x')).href).resolve(path)).href;
  } else if (entry.package !== undefined) {
    const from = createRequire(pathToFileURL(resolve(configDir, 'x')).href);
    let resolved: string;
    try {
      resolved = from.resolve(entry.package);
    } catch {
      resolved = createRequire(import.meta.url).resolve(entry.package);
    }
    specifier = pathToFileURL(resolved).href;
  } else {
    throw new Error('needs `path` or `package`');
  }
  const mod = await importModule<{ default?: unknown; plugins?: unknown }>(specifier);
  const exported = mod.plugins ?? mod.default;
  const list = Array.isArray(exported) ? exported : [exported];
  for (const candidate of list) {
    const problem = manifestProblem(candidate);
    if (problem) throw new Error(`is not a netagent plugin: its export ${problem}`);
  }
  return list as PluginManifest[];
}
