/**
 * What the shipped index templates (plugins/sinks/elasticsearch/templates/) declare, to hold a
 * node's live mapping against: no field may be mapped that they do not declare.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

export interface Mapping {
  type?: string;
  properties?: Record<string, Mapping>;
}
interface DynamicTemplate {
  path_match?: string;
  match_mapping_type?: string;
  mapping: Mapping;
}
const mappingsTemplate = JSON.parse(readFileSync(join(ROOT, 'plugins/sinks/elasticsearch/templates/netagent-mappings.json'), 'utf8')) as {
  template: { mappings: { properties: Record<string, Mapping>; dynamic_templates: Record<string, DynamicTemplate>[] } };
};
const declared = mappingsTemplate.template.mappings;

/** Leaf fields of a mapping as path → type (objects are only the way there). */
export function mappedLeaves(props: Record<string, Mapping>, prefix = '', out = new Map<string, string>()): Map<string, string> {
  for (const [name, m] of Object.entries(props)) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (m.properties) mappedLeaves(m.properties, path, out);
    else if (m.type && m.type !== 'object') out.set(path, m.type);
  }
  return out;
}
export const declaredLeaves = mappedLeaves(declared.properties);
export const wildcard = (pattern: string) => new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);

/**
 * How the templates declare a live field: its explicit property, or a dynamic template for one of
 * the maps keyed by names the kernel or the config chooses (snmp.counters.<name>,
 * netagent.collectors.<id>…). The templates without a path (for exec's and plugins' own fields)
 * declare nothing.
 */
export function declaredBy(path: string, type: string): string | null {
  if (declaredLeaves.has(path)) return declaredLeaves.get(path) === type ? 'property' : null;
  for (const entry of declared.dynamic_templates) {
    const [name, t] = Object.entries(entry)[0]!;
    if (t.path_match && wildcard(t.path_match).test(path) && t.mapping.type === type) return `dynamic template ${name}`;
  }
  return null;
}

