/**
 * The event envelope, built in this one place: `@timestamp`, `event.{dataset,kind,sequence}`,
 * `host.name`, `agent.*`, `labels`. Each event is encoded to its NDJSON line once, here, and every
 * sink shares that line. The constant part of the envelope is encoded once per identity rather
 * than per event, which matters at 100k events a cycle.
 */
import { EncodedFields, type EventFields, type EventKind, type SinkEvent } from './plugin.js';

export interface AgentIdentity {
  readonly hostName: string;
  readonly agentVersion: string;
  /** Stable across restarts (persisted in the state directory). */
  readonly agentId: string;
  /** New for each process; with event.sequence it names an event uniquely. */
  readonly ephemeralId: string;
  readonly labels: Readonly<Record<string, string>>;
}

export class StampedEvent implements SinkEvent {
  constructor(
    readonly dataset: string,
    readonly kind: EventKind,
    readonly sequence: number,
    readonly timestamp: string,
    readonly line: string,
    /**
     * Null for EncodedFields: the line holds them, and an event waiting in a queue then keeps
     * one flat string alive, not also the collector's text in pieces (which garbage collections
     * would copy, at 100k events a cycle).
     */
    private fields: EventFields | null,
    private readonly identity: AgentIdentity,
  ) {}

  field(path: string): unknown {
    switch (path) {
      case '@timestamp': return this.timestamp;
      case 'event.dataset': return this.dataset;
      case 'event.kind': return this.kind;
      case 'event.sequence': return this.sequence;
      case 'host.name': return this.identity.hostName;
      case 'agent.name': return 'netagent';
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
 * Stamps events. One per process, so event.sequence runs 1, 2, 3… across all datasets and
 * continues across a config reload.
 */
export class EventStamper {
  private sequence = 0;
  private identity!: AgentIdentity;
  private commonJson = '';
  private lastMs = -1;
  private lastIso = '';
  private readonly headByDataset = new Map<string, string>();

  constructor(identity: AgentIdentity) {
    this.setIdentity(identity);
  }

  /** A reload may change host name or labels; the sequence goes on. */
  setIdentity(identity: AgentIdentity): void {
    this.identity = identity;
    this.commonJson =
      `,"host":{"name":${JSON.stringify(identity.hostName)}}` +
      `,"agent":{"name":"netagent","version":${JSON.stringify(identity.agentVersion)},` +
      `"id":${JSON.stringify(identity.agentId)},"ephemeral_id":${JSON.stringify(identity.ephemeralId)}}` +
      `,"labels":${JSON.stringify(identity.labels)}`;
  }

  get lastSequence(): number {
    return this.sequence;
  }

  stamp(dataset: string, kind: EventKind, fields: EventFields | EncodedFields, nowMs: number): StampedEvent {
    if (nowMs !== this.lastMs) {
      this.lastMs = nowMs;
      this.lastIso = new Date(nowMs).toISOString();
    }
    const sequence = ++this.sequence;
    const key = kind === 'state' ? dataset : `${dataset}\u0000m`;
    let head = this.headByDataset.get(key);
    if (head === undefined) {
      head = `","event":{"dataset":${JSON.stringify(dataset)},"kind":"${kind}","sequence":`;
      this.headByDataset.set(key, head);
    }
    const encoded = fields instanceof EncodedFields;
    const members = encoded ? fields.members : JSON.stringify(fields).slice(1, -1);
    // join() builds one flat string; `+` would leave a rope of dozens of pieces per event that
    // every garbage collection has to trace while the event waits in a sink queue.
    const line = ['{"@timestamp":"', this.lastIso, head, sequence, '}', this.commonJson, members === '' ? '' : ',', members, '}'].join('');
    return new StampedEvent(dataset, kind, sequence, this.lastIso, line, encoded ? null : fields, this.identity);
  }
}
