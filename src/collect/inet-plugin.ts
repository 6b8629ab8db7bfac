/**
 * The plugin classes of the tcp, udp, udplite and raw collectors: InetSocketCollector bound to
 * one transport and, through explicit tokens, to the DI container.
 */
import type { Logger } from 'pino';
import { inject, injectable } from 'tsyringe';
import type { PluginInstance } from '../core/plugin.js';
import type { ProcFs } from '../core/procfs.js';
import type { SocketOwners } from '../core/socket-owners.js';
import { TOKENS } from '../core/tokens.js';
import { InetSocketCollector } from './inet-collector.js';
import type { InetOptions, Transport } from './inet-options.js';

export type InetCollectorClass = new (
  options: InetOptions,
  procfs: ProcFs,
  owners: SocketOwners,
  logger: Logger,
  instance: PluginInstance,
) => InetSocketCollector;

export function inetCollectorClass(transport: Transport): InetCollectorClass {
  @injectable()
  class BoundInetCollector extends InetSocketCollector {
    constructor(
      @inject(TOKENS.PluginOptions) options: InetOptions,
      @inject(TOKENS.ProcFs) procfs: ProcFs,
      @inject(TOKENS.SocketOwners) owners: SocketOwners,
      @inject(TOKENS.Logger) logger: Logger,
      @inject(TOKENS.PluginInstance) instance: PluginInstance,
    ) {
      super(transport, options, procfs, owners, logger, instance);
    }
  }
  return BoundInetCollector;
}
