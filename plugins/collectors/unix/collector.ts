/**
 * The unix collector: /proc/<pid>/net/unix streamed in line-aligned chunks and parsed in place
 * (parse-unix.ts). `mode: sockets`: one unix.socket event per socket, its fields written as UTF-8
 * JSON bytes (JsonBytes), no object or string per socket. `mode: summary`: one unix.summary event
 * per namespace, counts per type and state, nothing made per socket.
 */
import type { Logger } from 'pino';
import { inject, injectable } from 'tsyringe';
import { NEXT, ownerOrRescan, parseChunksPausably, PAUSE_AFTER, PAUSE_BEFORE, type ParsePause, type RowAction } from '../../../src/collect/inet-sockets.js';
import { MalformedTally } from '../../../src/collect/malformed.js';
import { JsonBytes } from '../../../src/core/json-bytes.js';
import type { SocketOwners } from '../../../src/core/socket-owners.js';
import { encodedEventFields, encodedViewFields, netSource, withViewFields, writeProcessMember } from '../../../src/collect/view-fields.js';
import type { CollectContext, Collector, EventFields, PluginInstance } from '../../../src/core/plugin.js';
import { netLineChunks, type NetView, type ProcFs } from '../../../src/core/procfs.js';
import { TOKENS } from '../../../src/core/tokens.js';
import type { UnixOptions } from './options.js';
import { newUnixRow, parseUnixLines, UNIX_STATES, UNIX_TYPES, unixFlagNames, unixStateName, unixTypeName, type UnixRow } from './parse-unix.js';

/** A unix.socket event's top-level keys; a view field under one of them must be merged, not appended. */
const SOCKET_KEYS = new Set(['socket', 'unix', 'process']);
const PATH = Buffer.from(',"unix":{"path":');
const REFCNT = Buffer.from(',"refcnt":');
const INODE = Buffer.from(',"inode":');
const CLOSE = Buffer.from('}');

/** The `states` filter's name of a socket's state: netstat's, UNCONNECTED where netstat prints none. */
const filterState = (state: string): string => (state === '' ? 'UNCONNECTED' : state);

@injectable()
export class UnixCollector implements Collector {
  private readonly row = newUnixRow();
  private readonly owners: SocketOwners | null;
  private readonly types: Set<string> | null;
  private readonly states: Set<string> | null;
  private readonly summary: boolean;
  private readonly out = new JsonBytes();
  /** `"socket":{"type":…,"state":…,"flags":[…]` by headIndex(), made on first use. */
  private readonly socketHeads: Buffer[] = [];
  /** `,"process":{"pid":<pid>,"name":<name>}` by pid, made once per cycle (pids are reused). */
  private readonly processMembers = new Map<number, Buffer>();

  constructor(
    @inject(TOKENS.PluginOptions) options: UnixOptions,
    @inject(TOKENS.ProcFs) private readonly procfs: ProcFs,
    @inject(TOKENS.SocketOwners) owners: SocketOwners,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.PluginInstance) readonly instance: PluginInstance,
  ) {
    this.summary = options.mode === 'summary';
    this.owners = options.processes && !this.summary ? owners : null;
    this.types = options.types.length > 0 ? new Set(options.types) : null;
    this.states = options.states.length > 0 ? new Set(options.states) : null;
  }

  async collect(ctx: CollectContext): Promise<void> {
    const { owners } = this;
    this.processMembers.clear();
    if (owners) await owners.beginCycle(this.logger);
    for (const view of await this.procfs.netViews()) {
      if (ctx.signal.aborted) return;
      const chunks = await netLineChunks(this.procfs, view, 'unix');
      if (chunks === null) continue;
      const bad = new MalformedTally();
      const onBad = (chunk: Buffer, s: number, e: number): void => bad.addRange(chunk, s, e);
      if (this.summary) await this.summarise(ctx, view, chunks, onBad);
      else await this.emitSockets(ctx, view, chunks, onBad);
      bad.report(ctx, netSource(this.procfs.root, view, 'unix'));
    }
  }

  private async summarise(
    ctx: CollectContext,
    view: NetView,
    chunks: AsyncIterable<Buffer>,
    onBad: (chunk: Buffer, s: number, e: number) => void,
  ): Promise<void> {
    const { types, states } = this;
    // Every name the filters let through, zeros included: a dashboard sees 0, not a gap.
    const typeCounts: Record<string, number> = {};
    for (const t of UNIX_TYPES) if (types === null || types.has(t)) typeCounts[t] = 0;
    const stateCounts: Record<string, number> = {};
    for (const s of UNIX_STATES) if (states === null || states.has(s)) stateCounts[s] = 0;
    let count = 0;
    const onRow = (r: UnixRow): RowAction => {
      const type = unixTypeName(r.type);
      if (types !== null && !types.has(type)) return NEXT;
      const state = filterState(unixStateName(r.state, r.flags));
      if (states !== null && !states.has(state)) return NEXT;
      typeCounts[type]!++;
      stateCounts[state]!++;
      count++;
      return NEXT;
    };
    for await (const chunk of chunks) parseUnixLines(chunk, 0, this.row, onRow, (s, e) => onBad(chunk, s, e));
    const ev: EventFields = { socket: { types: typeCounts, states: stateCounts, count } };
    ctx.emit('unix.summary', 'metric', withViewFields(view, ev));
  }

  private async emitSockets(
    ctx: CollectContext,
    view: NetView,
    chunks: AsyncIterable<Buffer>,
    onBad: (chunk: Buffer, s: number, e: number) => void,
  ): Promise<void> {
    const { owners, types, states, out, processMembers } = this;
    const viewJson = encodedViewFields(view, SOCKET_KEYS);
    const pause: ParsePause = { rescan: false, blocked: false };
    let buf!: Buffer;
    const onRow = (r: UnixRow): RowAction => {
      const type = unixTypeName(r.type);
      if (types !== null && !types.has(type)) return NEXT;
      const state = unixStateName(r.state, r.flags);
      if (states !== null && !states.has(filterState(state))) return NEXT;
      const owner = ownerOrRescan(owners, r.inode, pause);
      if (owner === null) return PAUSE_BEFORE;
      out.reset();
      out.raw(this.socketHead(r, type, state));
      out.raw(REFCNT);
      out.uint(r.refcnt);
      out.raw(INODE);
      out.uint(r.inode);
      out.raw(CLOSE);
      // An unnamed socket has no path: absent rather than "" (an empty keyword would be a value).
      if (r.pathEnd > r.pathStart) {
        out.raw(PATH);
        out.utf8String(buf, r.pathStart, r.pathEnd);
        out.raw(CLOSE);
      }
      if (owner !== undefined) writeProcessMember(out, owner, processMembers);
      if (ctx.emit('unix.socket', 'state', encodedEventFields(out, view, viewJson))) return NEXT;
      pause.blocked = true;
      return PAUSE_AFTER;
    };
    await parseChunksPausably(
      chunks,
      (chunk, pos) => {
        buf = chunk;
        return parseUnixLines(chunk, pos, this.row, onRow, (s, e) => onBad(chunk, s, e));
      },
      pause,
      { rescan: () => owners!.rescan(), drained: () => ctx.drained() },
    );
  }

  /** `"socket":{"type":"<type>","state":"<state>","flags":[…]` (the flags' netstat names). */
  private socketHead(r: UnixRow, type: string, state: string): Buffer {
    // Numbers the names are made from, each clamped to one value beyond the named ones (UNKNOWN),
    // and the three flag bits netstat shows: no string made per socket to look the head up.
    const index = ((r.type > 5 ? 0 : r.type) * 6 + (r.state > 4 ? 5 : r.state)) * 8 + ((r.flags >>> 16) & 7);
    return (this.socketHeads[index] ??= Buffer.from(
      `"socket":{"type":"${type}","state":"${state}","flags":${JSON.stringify(unixFlagNames(r.flags))}`,
    ));
  }
}
