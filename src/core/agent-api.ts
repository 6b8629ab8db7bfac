/**
 * What `import … from 'netagent'` gives a plugin that the running agent loads: this very process's
 * plugin API (src/index.ts), not a second copy of it. A second copy would bring its own tsyringe,
 * whose decorators would record the plugin's constructor tokens where the agent's container never
 * looks. The module hook (plugin-api-hooks.ts) resolves 'netagent' to dist/bundle/agent-api.mjs,
 * which scripts/bundle.mjs generates to re-export the object published here.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as pluginApi from '../index.js';
import { PACKAGE_ROOT } from './package-root.js';

/** The global symbol's key under which the running agent publishes its API. */
export const AGENT_API_KEY = 'netagent.agent-api';

/** Publishes this process's API for plugins; returns the URL of the module that re-exports it. */
export function publishAgentApi(): string {
  (globalThis as Record<symbol, unknown>)[Symbol.for(AGENT_API_KEY)] = pluginApi;
  return pathToFileURL(join(PACKAGE_ROOT, 'dist', 'bundle', 'agent-api.mjs')).href;
}
