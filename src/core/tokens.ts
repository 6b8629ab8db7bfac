/**
 * Injection tokens. Every dependency is named by one of these (never by a class), so that tests
 * and vitest's esbuild transform (no decorator metadata) resolve exactly the same graph.
 */
export const TOKENS = {
  /** pino Logger; in a plugin's child container it is already bound to the instance id. */
  Logger: Symbol.for('netagent.Logger'),
  /** The validated, defaults-applied `options` object of one plugin instance. */
  PluginOptions: Symbol.for('netagent.PluginOptions'),
  /** `{ id, type }` of the plugin instance a child container was made for. */
  PluginInstance: Symbol.for('netagent.PluginInstance'),
  /** Every PluginManifest known to the registry (built-ins and loaded third-party plugins). */
  PluginManifest: Symbol.for('netagent.PluginManifest'),
  /** The validated agent section of the config (AgentSettings). */
  AgentSettings: Symbol.for('netagent.AgentSettings'),
  /** ProcFs: reads /proc (honouring agent.proc_root) and the network namespaces to collect from. */
  ProcFs: Symbol.for('netagent.ProcFs'),
  /**
   * SocketOwners (src/collect/process-sockets.ts): socket inode → owning process, one per agent,
   * shared by the collectors that report process.pid (tcp, udp, unix with `processes: true`).
   */
  SocketOwners: Symbol.for('netagent.SocketOwners'),
  /** Clock: the one source of time, so tests can control it. */
  Clock: Symbol.for('netagent.Clock'),
  /** agent.ephemeral_id: a UUID made once per process. */
  EphemeralId: Symbol.for('netagent.EphemeralId'),
} as const;
