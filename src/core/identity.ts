/** Who this agent is: host name, version, a persistent agent.id and a per-process ephemeral id. */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AgentSettings } from './config/schema.js';
import type { AgentIdentity } from './envelope.js';
import { AGENT_VERSION } from './package-root.js';


/**
 * A random (v4) UUID. The kernel hands one out in /proc; loading node:crypto instead would cost
 * ~15 ms of start-up, which `netagent once` is measured by.
 */
export function newUuid(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/uuid', 'latin1').trim();
  } catch {
    return (createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto')).randomUUID();
  }
}

/** `agent.state_dir`, or its default: /var/lib/netagent as root, else ~/.local/state/netagent. */
export function stateDirOf(agent: AgentSettings): string {
  if (agent.state_dir !== undefined) return agent.state_dir;
  if (process.getuid?.() === 0) return '/var/lib/netagent';
  return join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'netagent');
}

/**
 * The agent.id stored in `<state_dir>/agent-id`, created on first start. When the directory is
 * not writable the id is still generated (and a warning says it will not survive a restart).
 */
export function persistentAgentId(stateDir: string, logger: Logger): string {
  const file = join(stateDir, 'agent-id');
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (id) return id;
  } catch {
    // first start
  }
  const id = newUuid();
  try {
    // Private to the agent's user: the state directory also holds the spools, a copy of events.
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(`${file}.tmp`, `${id}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  } catch (err) {
    logger.warn({ state_dir: stateDir, err: (err as Error).message }, 'cannot persist agent.id; it will change on restart (set agent.state_dir)');
  }
  return id;
}

export function identityFor(agent: AgentSettings, ephemeralId: string, logger: Logger): AgentIdentity {
  return {
    hostName: agent.name ?? hostname(),
    agentVersion: AGENT_VERSION,
    agentId: persistentAgentId(stateDirOf(agent), logger),
    ephemeralId,
    labels: agent.tags,
  };
}
