/**
 * The event envelope, built in this one place: `@timestamp`, `event.{dataset,kind,sequence}` (and
 * `event.{category,type}` where ECS has values for the dataset, an event's own `event.type` and
 * `event.duration` where it has an EventDetail), `host.name`, `agent.*`,
 * `ecs.version`, `labels`. Each event is encoded to its NDJSON line once, here, as UTF-8
 * bytes, and every sink shares those bytes. The constant part of the envelope is encoded once per
 * identity rather than per event, which matters at 100k events a cycle.
 */
import { AGENT_TYPE, DATASET_CATEGORIZATION, ECS_VERSION } from './ecs.js';
import { writeDecimal } from './json-bytes.js';
import type { LineBuffer } from './line-buffer.js';
import { EncodedFields, type EventDetail, type EventFields, type EventKind, type SinkEvent } from './plugin.js';

/**
 * Top-level keys that belong to the envelope, and `data_stream`, which the elasticsearch sink
 * writes: a collector's fields never set them.
 */
export const ENVELOPE_KEYS = ['@timestamp', 'event', 'host', 'agent', 'ecs', 'labels', 'data_stream'] as const;

export interface AgentIdentity {
  readonly hostName: string;
  readonly agentVersion: string;
  /** Stable across restarts (persisted in the state directory). */
  readonly agentId: string;
  /** New for each process; with event.sequence it names an event uniquely. */
  readonly ephemeralId: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * Lines are written one after the other, each with its newline, into blocks of this size. Lines
 * kept as strings on the JavaScript heap instead outlived the young generation while queued and
 * were copied into the old one, which at 100k events a cycle cost more garbage-collection time
 * than building them. Events stamped one after the other are NDJSON as they lie in their block
 * (see ndjsonChunks).
 */
const BLOCK_BYTES = 1 << 20;

/**
 * Blocks whose every event the sinks have settled wait here for reuse, up to this many. Left to
 * the garbage collector instead, a running agent's blocks came and went in swings of 20–30 MB of
 * RSS: V8 frees memory outside its heap only when a full collection finds its owner dead.
 */
const SPARE_BLOCKS = 8;

/**
 * A block of lines and how many still need it: one hold per sink an event in it was queued for,
 * until that sink settles the event (written, failed or dropped), and one while the stamper
 * writes into it. With no hold left the block is a spare, to be written over.
 */
class LineBlock {
  holds = 1;
  constructor(
    readonly bytes: Buffer,
    private readonly spares: LineBlock[],
  ) {}

  release(): void {
    if (--this.holds === 0 && this.spares.length < SPARE_BLOCKS && this.bytes.length === BLOCK_BYTES) this.spares.push(this);
  }
}

/** Runs of lines shorter than this are copied rather than written as views (see ndjsonChunks). */
const MIN_VIEW_BYTES = 16 * 1024;

export class StampedEvent implements SinkEvent {
  constructor(
    readonly dataset: string,
    readonly kind: EventKind,
    readonly sequence: number,
    readonly timestamp: string,
    /** The block holding the line at [start, end), and its newline at end. */
    private readonly block: LineBlock,
    private readonly start: number,
    private readonly end: number,
    /** The fields as emitted; null for EncodedFields, whose values field() parses from the line. */
    private fields: EventFields | null,
    private readonly identity: AgentIdentity,
  ) {}

  get line(): string {
    return this.block.bytes.toString('utf8', this.start, this.end);
  }

  get bytes(): Buffer {
    return this.block.bytes.subarray(this.start, this.end);
  }

  /** Called for each sink the event is queued for: its line stays until that sink settles it. */
  hold(): this {
    this.block.holds++;
    return this;
  }

  /**
   * Called once per hold, when that sink is done with the event: from then on its block may be
   * written over, so nothing of the event may be read after (the contract of Sink.write()).
   */
  release(): void {
    this.block.release();
  }

  /**
   * A batch's lines as NDJSON, in chunks for a sink to write one after the other. A long run of
   * events stamped one after the other is one view of its block, newlines included: nothing is
   * copied. Shorter runs, and lines not made by the stamper, are copied into `scratch`, since a
   * write per short run (a sink that takes every tenth event) would cost more than the copy. A
   * chunk of `scratch` is valid until the next step; a view of a block as long as the batch's
   * events are (until the sink's write() settles).
   */
  static *ndjsonChunks(batch: readonly SinkEvent[], scratch: LineBuffer): Generator<Buffer> {
    // Copies lines (without their last newline, which push() adds) into scratch, writing it out first when full.
    function* copy(lines: Buffer): Generator<Buffer> {
      if (!scratch.fits(lines)) {
        yield scratch.bytes.subarray(0, scratch.length);
        scratch.clear();
      }
      scratch.push(lines);
    }
    let run: LineBlock | null = null;
    let from = 0;
    let to = 0;
    scratch.clear();
    for (let i = 0; i <= batch.length; i++) {
      const event = batch[i];
      if (event instanceof StampedEvent && event.block === run && event.start === to) {
        to = event.end + 1;
        continue;
      }
      if (run !== null && to - from >= MIN_VIEW_BYTES) {
        if (scratch.length > 0) {
          yield scratch.bytes.subarray(0, scratch.length);
          scratch.clear();
        }
        yield run.bytes.subarray(from, to);
      } else if (run !== null) yield* copy(run.bytes.subarray(from, to - 1));
      run = null;
      if (event instanceof StampedEvent) {
        run = event.block;
        from = event.start;
        to = event.end + 1;
      } else if (event !== undefined) yield* copy(event.bytes);
    }
    if (scratch.length > 0) yield scratch.bytes.subarray(0, scratch.length);
  }

  field(path: string): unknown {
    switch (path) {
      case '@timestamp': return this.timestamp;
      case 'event.dataset': return this.dataset;
      case 'event.kind': return this.kind;
      case 'event.sequence': return this.sequence;
      case 'host.name': return this.identity.hostName;
      case 'agent.name': return 'netagent';
      case 'agent.type': return AGENT_TYPE;
      case 'ecs.version': return ECS_VERSION;
      case 'agent.version': return this.identity.agentVersion;
      case 'agent.id': return this.identity.agentId;
      case 'agent.ephemeral_id': return this.identity.ephemeralId;
    }
    if (path.startsWith('labels.')) return this.identity.labels[path.slice(7)];
    this.fields ??= JSON.parse(this.line) as EventFields;
    let value: unknown = this.fields;
    for (const key of path.split('.')) {
      if (typeof value !== 'object' || value === null) return undefined;
      value = (value as Record<string, unknown>)[key];
    }
    return value;
  }
}

/**
 * The members of `fields` as JSON text, without the braces. Throws when JSON.stringify does (a
 * BigInt, a cycle, a getter that throws) or gives no object (an array, a Date, a toJSON returning
 * a string), whose line would be no JSON object.
 */
export function objectMembers(fields: EventFields): string {
  const json: unknown = JSON.stringify(fields);
  if (typeof json !== 'string' || json[0] !== '{') throw new TypeError(`fields must be a JSON object, not ${typeof json === 'string' ? json.slice(0, 40) : String(json)}`);
  return json.slice(1, -1);
}

const DURATION = Buffer.from(',"duration":');

/**
 * `","event":{"dataset":…,"kind":…,["category":…,"type":…,]"sequence":`: the dataset's ECS
 * categorization, its event.type followed by the event's own type (detail) where given.
 */
function eventHead(dataset: string, kind: EventKind, detail: EventDetail | undefined): Buffer {
  const ecs = DATASET_CATEGORIZATION.get(dataset);
  const types = [...(ecs?.type ?? []), ...(detail && !ecs?.type.includes(detail.type) ? [detail.type] : [])];
  const category = ecs ? `"category":${JSON.stringify(ecs.category)},` : '';
  const type = types.length > 0 ? `"type":${JSON.stringify(types)},` : '';
  return Buffer.from(`","event":{"dataset":${JSON.stringify(dataset)},"kind":"${kind}",${category}${type}"sequence":`);
}

/**
 * Stamps events. One per process, so event.sequence runs 1, 2, 3… across all datasets and
 * continues across a config reload.
 */
export class EventStamper {
  private sequence = 0;
  private identity!: AgentIdentity;
  /** `}` closing event, then host, agent, ecs and labels, then `,` before the fields. */
  private common = Buffer.alloc(0);
  /** The same for an event without fields, without the `,`. */
  private commonBare = Buffer.alloc(0);
  private lastMs = -1;
  private lastIso = '';
  /** `{"@timestamp":"<lastIso>`. */
  private timestampBytes = Buffer.alloc(0);
  /** `","event":{"dataset":…,"kind":…,["category":…,"type":…,]"sequence":` by dataset and kind. */
  private readonly headByDataset = new Map<string, Buffer>();
  private readonly spares: LineBlock[] = [];
  private block = new LineBlock(Buffer.allocUnsafe(BLOCK_BYTES), this.spares);
  private used = 0;

  constructor(identity: AgentIdentity) {
    this.setIdentity(identity);
  }

  /** A reload may change host name or labels; the sequence goes on. */
  setIdentity(identity: AgentIdentity): void {
    this.identity = identity;
    this.commonBare = Buffer.from(
      `},"host":{"name":${JSON.stringify(identity.hostName)}}` +
        `,"agent":{"name":"netagent","type":"${AGENT_TYPE}","version":${JSON.stringify(identity.agentVersion)},` +
        `"id":${JSON.stringify(identity.agentId)},"ephemeral_id":${JSON.stringify(identity.ephemeralId)}}` +
        `,"ecs":{"version":"${ECS_VERSION}"},"labels":${JSON.stringify(identity.labels)}`,
    );
    this.common = Buffer.concat([this.commonBare, Buffer.from(',')]);
  }

  get lastSequence(): number {
    return this.sequence;
  }

  /**
   * The event with its line written into the current block. The line lasts while the stamper
   * writes into that block; whoever needs it longer hold()s the event, and release()s it after.
   */
  stamp(dataset: string, kind: EventKind, fields: EventFields | EncodedFields, nowMs: number, detail?: EventDetail): StampedEvent {
    if (nowMs !== this.lastMs) {
      this.lastMs = nowMs;
      this.lastIso = new Date(nowMs).toISOString();
      this.timestampBytes = Buffer.from(`{"@timestamp":"${this.lastIso}`);
    }
    // Encoded before the sequence is taken: fields that are no JSON object throw here, leaving no gap.
    const encoded = fields instanceof EncodedFields;
    const utf8 = encoded ? fields.utf8 : null;
    const members = utf8 !== null ? '' : encoded ? fields.members : objectMembers(fields);
    const sequence = ++this.sequence;
    const key = kind === 'state' && detail === undefined ? dataset : `${dataset}\u0000${kind}\u0000${detail?.type ?? ''}`;
    let head = this.headByDataset.get(key);
    if (head === undefined) {
      head = eventHead(dataset, kind, detail);
      this.headByDataset.set(key, head);
    }
    const durationNs = detail?.durationNs;
    // A UTF-16 unit takes at most 3 bytes of UTF-8.
    const membersBytes = utf8 !== null ? utf8.length : members.length * 3;
    const { timestampBytes, common } = this;
    // 16 digits hold any sequence number (and any duration, after its key); `}\n` ends the line.
    const most = timestampBytes.length + head.length + 16 + DURATION.length + 16 + common.length + membersBytes + 2;
    if (this.block.bytes.length - this.used < most) this.nextBlock(most);
    const block = this.block.bytes;
    const start = this.used;
    let at = start;
    block.set(timestampBytes, at);
    at += timestampBytes.length;
    block.set(head, at);
    at = writeDecimal(block, at + head.length, sequence);
    if (durationNs !== undefined) {
      block.set(DURATION, at);
      at = writeDecimal(block, at + DURATION.length, durationNs);
    }
    if (membersBytes === 0) {
      block.set(this.commonBare, at);
      at += this.commonBare.length;
    } else {
      block.set(common, at);
      at += common.length;
      if (utf8 !== null) {
        block.set(utf8, at);
        at += utf8.length;
      } else at += block.write(members, at);
    }
    block[at++] = 0x7d; // }
    block[at] = 0x0a;
    this.used = at + 1;
    return new StampedEvent(dataset, kind, sequence, this.lastIso, this.block, start, at, encoded ? null : fields, this.identity);
  }

  /** Moves on to a spare block, or a new one (a line longer than a block gets one of its own). */
  private nextBlock(bytes: number): void {
    this.block.release();
    const spare = bytes <= BLOCK_BYTES ? this.spares.pop() : undefined;
    if (spare !== undefined) spare.holds = 1;
    this.block = spare ?? new LineBlock(Buffer.allocUnsafe(Math.max(BLOCK_BYTES, bytes)), this.spares);
    this.used = 0;
  }
}
