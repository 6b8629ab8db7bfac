/**
 * The unix collector: /proc/<pid>/net/unix streamed in line-aligned chunks and parsed in place
 * (parse-unix.ts), one unix.socket event per socket.
 */
import type { Logger } from 'pino';
import { inject, injectable } from 'tsyringe';
import { NEXT, parseChunksPausably, PAUSE_AFTER, PAUSE_BEFORE, type ParsePause, type RowAction } from '../../../src/collect/inet-sockets.js';
import { MalformedTally } from '../../../src/collect/malformed.js';
import type { SocketOwners } from '../../../src/core/socket-owners.js';
import { netSource, withViewFields } from '../../../src/collect/view-fields.js';
import type { CollectContext, Collector, EventFields, PluginInstance } from '../../../src/core/plugin.js';
import { netLineChunks, type ProcFs } from '../../../src/core/procfs.js';
import { TOKENS } from '../../../src/core/tokens.js';
import type { UnixOptions } from './options.js';
import { newUnixRow, parseUnixLines, unixFlagNames, unixStateName, unixTypeName, type UnixRow } from './parse-unix.js';

@injectable()
export class UnixCollector implements Collector {
  private readonly row = newUnixRow();
  private readonly owners: SocketOwners | null;
  private readonly types: Set<string> | null;
  private readonly states: Set<string> | null;

  constructor(
    @inject(TOKENS.PluginOptions) options: UnixOptions,
    @inject(TOKENS.ProcFs) private readonly procfs: ProcFs,
    @inject(TOKENS.SocketOwners) owners: SocketOwners,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.PluginInstance) readonly instance: PluginInstance,
  ) {
    this.owners = options.processes ? owners : null;
    this.types = options.types.length > 0 ? new Set(options.types) : null;
    this.states = options.states.length > 0 ? new Set(options.states) : null;
  }

  async collect(ctx: CollectContext): Promise<void> {
    const { owners, types, states } = this;
    if (owners) await owners.beginCycle(this.logger);
    for (const view of await this.procfs.netViews()) {
      if (ctx.signal.aborted) return;
      const chunks = await netLineChunks(this.procfs, view, 'unix');
      if (chunks === null) continue;
      const bad = new MalformedTally();
      const pause: ParsePause = { rescan: false, blocked: false };
      let buf!: Buffer;
      const onRow = (r: UnixRow): RowAction => {
        const type = unixTypeName(r.type);
        if (types !== null && !types.has(type)) return NEXT;
        const state = unixStateName(r.state, r.flags);
        if (states !== null && !states.has(state === '' ? 'UNCONNECTED' : state)) return NEXT;
        let owner;
        if (owners !== null) {
          owner = owners.get(r.inode);
          if (owner === undefined && r.inode !== 0 && owners.needsRescan(r.inode)) {
            pause.rescan = true;
            return PAUSE_BEFORE;
          }
        }
        const ev: EventFields = { socket: { type, state, flags: unixFlagNames(r.flags), refcnt: r.refcnt, inode: r.inode } };
        // An unnamed socket has no path: absent rather than "" (an empty keyword would be a value).
        if (r.pathEnd > r.pathStart) ev.unix = { path: buf.toString('utf8', r.pathStart, r.pathEnd) };
        if (owner !== undefined) ev.process = { pid: owner.pid, name: owner.name };
        if (ctx.emit('unix.socket', 'state', withViewFields(view, ev))) return NEXT;
        pause.blocked = true;
        return PAUSE_AFTER;
      };
      await parseChunksPausably(
        chunks,
        (chunk, pos) => {
          buf = chunk;
          return parseUnixLines(chunk, pos, this.row, onRow, (s, e) => bad.addRange(chunk, s, e));
        },
        pause,
        { rescan: () => owners!.rescan(), drained: () => ctx.drained() },
      );
      bad.report(ctx, netSource(this.procfs.root, view, 'unix'));
    }
  }
}
