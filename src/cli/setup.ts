/**
 * `netagent setup elasticsearch -c FILE`: for each elasticsearch sink of the config, installs the
 * templates and lifecycle policies into the nodes its connection options name (the work is
 * plugins/sinks/elasticsearch/setup.ts, which the sink's `setup` option runs on start too).
 */
import type { Logger } from 'pino';
import type { DependencyContainer } from 'tsyringe';
import { loadAgentPlan } from '../core/config/load.js';

/** What `setup` can set up. */
export const SETUP_TARGETS = ['elasticsearch'] as const;

export interface SetupOutput {
  /** A sink's report. */
  report(text: string): void;
  /** Why a sink's setup failed. */
  problem(text: string): void;
}

/** One report per sink; returns the exit code (1 when there was no such sink, or a sink's setup failed). */
export async function setupCommand(
  target: (typeof SETUP_TARGETS)[number],
  configFile: string,
  root: DependencyContainer,
  logger: Logger,
  output: SetupOutput,
): Promise<number> {
  const plan = await loadAgentPlan(configFile, root);
  const sinks = plan.sinks.filter((s) => s.manifest.type === target);
  if (sinks.length === 0) {
    output.problem(`${configFile}: no ${target} sink configured: nothing to set up`);
    return 1;
  }
  // Loaded here, not at start-up: the other commands never need an HTTP client.
  const [{ EsClient, connectionSettings }, { setupElasticsearch, formatSetupReport }] = await Promise.all([
    import('../../plugins/sinks/elasticsearch/client.js'),
    import('../../plugins/sinks/elasticsearch/setup.js'),
  ]);
  let failed = 0;
  for (const sink of sinks) {
    const options = sink.options as Parameters<typeof connectionSettings>[0];
    const client = new EsClient(connectionSettings(options));
    const name = `sink ${sink.id} (${client.hosts.join(', ')})`;
    try {
      // The report is the command's output: at the default level each step's info log would only repeat it.
      const quiet = logger.child({ sink: sink.id }, { level: logger.levelVal === 30 ? 'warn' : logger.level });
      output.report(formatSetupReport(name, await setupElasticsearch(client, { logger: quiet })));
    } catch (err) {
      failed++;
      output.problem(`${name}: setup failed: ${(err as Error).message}`);
    } finally {
      client.close();
    }
  }
  return failed > 0 ? 1 : 0;
}
