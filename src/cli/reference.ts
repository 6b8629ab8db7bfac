/** The configuration reference of the built-in plugins, as docs/configuration.md holds it. */
import { pino } from 'pino';
import { createRootContainer } from '../composition-root.js';
import { AgentSection, CollectorEntry, PluginEntry, SinkEntry } from '../core/config/schema.js';
import { PluginRegistry } from '../core/registry.js';
import { configurationReference } from './describe.js';

export function referenceMarkdown(): string {
  const registry = createRootContainer({ logger: pino({ level: 'silent' }) }).resolve(PluginRegistry);
  return configurationReference({ agent: AgentSection, 'collectors[]': CollectorEntry, 'sinks[]': SinkEntry, 'plugins[]': PluginEntry }, registry);
}
