/** `netagent plugins` and `netagent describe TYPE`: rendered from the manifests' option schemas. */
import { readFileSync } from 'node:fs';
import { Kind, type TObject, type TSchema } from '@sinclair/typebox';
import type { PluginManifest } from '../core/plugin.js';
import type { PluginRegistry } from '../core/registry.js';

export function listPlugins(registry: PluginRegistry): string {
  const rows = registry.list().map((m) => [m.type, m.kind, m.description]);
  const width = Math.max(...rows.map((r) => r[0]!.length), 4);
  return ['TYPE'.padEnd(width) + '  KIND       DESCRIPTION', ...rows.map(([t, k, d]) => `${t!.padEnd(width)}  ${k!.padEnd(9)}  ${d}`)].join('\n');
}

/** A schema's type in words: `string`, `integer`, `one of: a, b`, `list of string`. */
export function typeName(schema: TSchema): string {
  switch (schema[Kind]) {
    case 'Union': {
      const format = (schema.anyOf as TSchema[]).find((s) => s.format)?.format;
      if (format) return String(format);
      const parts = (schema.anyOf as TSchema[]).map((s) => (s[Kind] === 'Literal' ? String(s.const) : typeName(s)));
      return (schema.anyOf as TSchema[]).every((s) => s[Kind] === 'Literal') ? `one of: ${parts.join(', ')}` : parts.join(' | ');
    }
    case 'Array': return `list of ${typeName(schema.items as TSchema)}`;
    case 'Record': return 'map';
    case 'String': return schema.format ? String(schema.format) : 'string';
    default: return String(schema[Kind]).toLowerCase();
  }
}

/** One row per option, nested objects flattened to dotted names. */
export function optionRows(schema: TObject, prefix = ''): { name: string; type: string; default: string; description: string }[] {
  const required = new Set(schema.required ?? []);
  const rows: { name: string; type: string; default: string; description: string }[] = [];
  for (const [key, prop] of Object.entries(schema.properties)) {
    const name = prefix + key;
    if (prop[Kind] === 'Object') {
      rows.push(...optionRows(prop as TObject, `${name}.`));
      continue;
    }
    const def = prop.default !== undefined ? `default ${JSON.stringify(prop.default)}` : required.has(key) ? 'required' : 'optional';
    rows.push({ name, type: typeName(prop), default: def, description: String(prop.description ?? '') });
  }
  return rows;
}

export function describePlugin(m: PluginManifest): string {
  const lines = [`${m.type} (${m.kind}): ${m.description}`, ''];
  if (m.kind === 'collector') lines.push(`Datasets: ${m.datasets.join(', ')}`, '');
  const rows = optionRows(m.options);
  lines.push('Options:');
  if (rows.length === 0) lines.push('  (none)');
  for (const r of rows) {
    lines.push(`  ${r.name}  (${r.type}, ${r.default})`);
    if (r.description) lines.push(`      ${r.description}`);
  }
  if (m.sample) {
    try {
      lines.push('', 'Sample:', readFileSync(m.sample, 'utf8').trimEnd());
    } catch {
      // a plugin without its sample file still describes its options
    }
  }
  return lines.join('\n');
}
