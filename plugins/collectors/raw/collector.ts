import type { Logger } from 'pino';
import { inject, injectable } from 'tsyringe';
import { InetSocketCollector } from '../../../src/collect/inet-collector.js';
import type { InetOptions } from '../../../src/collect/inet-options.js';
import type { SocketOwners } from '../../../src/core/socket-owners.js';
import type { PluginInstance } from '../../../src/core/plugin.js';
import type { ProcFs } from '../../../src/core/procfs.js';
import { TOKENS } from '../../../src/core/tokens.js';

/** The raw collector: the shared /proc/net socket reader bound to transport `raw`. */
@injectable()
export class RawCollector extends InetSocketCollector {
  constructor(
    @inject(TOKENS.PluginOptions) options: InetOptions,
    @inject(TOKENS.ProcFs) procfs: ProcFs,
    @inject(TOKENS.SocketOwners) owners: SocketOwners,
    @inject(TOKENS.Logger) logger: Logger,
    @inject(TOKENS.PluginInstance) instance: PluginInstance,
  ) {
    super('raw', options, procfs, owners, logger, instance);
  }
}
