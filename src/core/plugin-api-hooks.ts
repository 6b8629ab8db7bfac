/**
 * Module resolution hooks (node:module register) that make `import … from 'netagent'` inside a
 * plugin resolve to the running agent's own API, wherever the plugin lives. Plugins then share
 * the agent's tsyringe instance (whose decorators record constructor tokens) and need no
 * `netagent` installed beside them.
 */
interface ResolveContext {
  parentURL?: string;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<{ url: string }>;

let apiUrl = '';

export async function initialize(data: { apiUrl: string }): Promise<void> {
  apiUrl = data.apiUrl;
}

export async function resolve(specifier: string, context: ResolveContext, next: NextResolve): Promise<{ url: string; shortCircuit?: boolean }> {
  if (specifier === 'netagent') return { url: apiUrl, shortCircuit: true };
  return next(specifier, context);
}
