/** Which network namespaces the /proc/net collectors read, per `agent.netns`. */
import type { AgentSettings } from './config/schema.js';
import { SelfProcFs, type NetView, type ProcFs } from './procfs.js';

/** The host's namespace, seen through pid 1 of the (possibly mounted) proc root. */
class HostProcFs extends SelfProcFs {
  private readonly host: readonly NetView[] = [Object.freeze({ pid: '1', fields: Object.freeze({}) })];

  override async netViews(): Promise<readonly NetView[]> {
    return this.host;
  }
}

export function procFsFor(agent: AgentSettings): ProcFs {
  switch (agent.netns) {
    case 'host':
      return new HostProcFs(agent.proc_root);
    case 'all':
      throw new Error('agent.netns: all is not implemented yet');
    default:
      return new SelfProcFs(agent.proc_root);
  }
}
