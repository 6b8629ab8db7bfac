/**
 * What the events take from the Elastic Common Schema (ECS): the version the field names and the
 * index templates follow (plugins/sinks/elasticsearch/templates/), and each built-in dataset's
 * categorization. docs/events.md explains the choices; the stamper writes both into the constant
 * part of every event's envelope.
 */

/** `ecs.version` of every event; the index templates declare the same version in their `_meta`. */
export const ECS_VERSION = '8.17.0';

/** `agent.type`: the product. (`agent.name` is `netagent` too, as the contract has it.) */
export const AGENT_TYPE = 'netagent';

export interface EcsCategorization {
  /** `event.category`: ECS's allowed values (an array in ECS). */
  readonly category: readonly string[];
  /** `event.type`: allowed values that ECS lists as expected with every category above. */
  readonly type: readonly string[];
}

const socketRows: EcsCategorization = { category: ['network'], type: ['connection'] };
const networkInfo: EcsCategorization = { category: ['network'], type: ['info'] };

/**
 * `event.category` / `event.type` by dataset, where ECS has values for it. A dataset not listed
 * (agent.stats, an exec collector's own, a third-party plugin's) carries neither: ECS has no
 * category for an agent's self-monitoring, and the agent cannot know what a command measures.
 */
export const DATASET_CATEGORIZATION: ReadonlyMap<string, EcsCategorization> = new Map([
  ['tcp.socket', socketRows],
  ['udp.socket', socketRows],
  ['udplite.socket', socketRows],
  ['raw.socket', socketRows],
  // One tracked flow each (entries: list), or counts of them (entries: group).
  ['conntrack.entry', socketRows],
  ['unix.socket', socketRows],
  // Lifecycle events (kind `event`): each event appends its own `start`, `end` or `info` (EventDetail).
  ['tcp.connection', socketRows],
  // A listener is no connection: only its own start/end/info.
  ['tcp.listener', { category: ['network'], type: [] }],
  ['udp.listener', { category: ['network'], type: [] }],
  ['tcp.summary', networkInfo],
  ['udp.summary', networkInfo],
  ['udplite.summary', networkInfo],
  ['raw.summary', networkInfo],
  // Counts (and tcp.info percentiles) per group of sockets: no one connection's details.
  ['tcp.aggregate', networkInfo],
  ['udp.aggregate', networkInfo],
  ['unix.summary', networkInfo],
  ['conntrack.stats', networkInfo],
  ['route.entry', networkInfo],
  ['igmp.membership', networkInfo],
  ['snmp.counters', networkInfo],
  ['sockstat.totals', networkInfo],
  // The host's own interfaces: ECS's interface fields describe an observer's ingress/egress.
  ['iface.stats', { category: ['host'], type: ['info'] }],
  // The host's own receive path, per CPU.
  ['softnet.stats', { category: ['host'], type: ['info'] }],
]);

/**
 * Top-level names that ECS defines as field sets (objects), and the ones netagent's own events use
 * as objects (the index templates map each as an object). A command's line (the exec collector)
 * with a number or a string under one of them would have every document of its dataset rejected.
 */
export const OBJECT_ROOTS: ReadonlySet<string> = new Set([
  // ECS 8.17 field sets that may appear at the top level
  'agent', 'client', 'cloud', 'container', 'data_stream', 'destination', 'device', 'dll', 'dns', 'ecs', 'email',
  'error', 'event', 'faas', 'file', 'group', 'host', 'http', 'log', 'network', 'observer', 'orchestrator',
  'organization', 'package', 'process', 'registry', 'related', 'rule', 'server', 'service', 'source', 'span',
  'threat', 'tls', 'trace', 'transaction', 'url', 'user', 'user_agent', 'volume', 'vulnerability', 'labels',
  // netagent's own
  'socket', 'unix', 'interface', 'route', 'igmp', 'snmp', 'sockstat', 'netns', 'kubernetes', 'netagent', 'exec',
  'conntrack', 'softnet', 'tcp', 'aggregate',
]);
