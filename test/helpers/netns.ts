/**
 * Network namespaces for collector tests: the real tools (netstat, ss, nstat, ip) run inside the
 * namespace are the oracle. Needs root and iproute2; `requireNetnsTools()` says so clearly.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';

export function missingNetnsPrerequisites(tools: readonly string[] = ['ip']): string | null {
  if (process.getuid?.() !== 0) return 'these tests create network namespaces and need root';
  for (const tool of tools) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `these tests need \`${tool}\` (apt-get install iproute2 net-tools)`;
    }
  }
  return null;
}

/** Throws a clear error (never skips) when the tests cannot run here. */
export function requireNetnsTools(tools: readonly string[] = ['ip']): void {
  const missing = missingNetnsPrerequisites(tools);
  if (missing) throw new Error(missing);
}

export class NetNamespace {
  private readonly holders: ChildProcess[] = [];
  private constructor(readonly name: string) {}

  /** A new namespace with loopback up. */
  static create(prefix = 'natest'): NetNamespace {
    const name = `${prefix}-${randomBytes(4).toString('hex')}`;
    execFileSync('ip', ['netns', 'add', name]);
    const ns = new NetNamespace(name);
    ns.exec('ip', ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Runs a command inside the namespace and returns its stdout. */
  exec(cmd: string, args: readonly string[], input?: string): string {
    return execFileSync('ip', ['netns', 'exec', this.name, cmd, ...args], {
      encoding: 'utf8',
      input,
      maxBuffer: 256 * 1024 * 1024,
    });
  }

  /**
   * Starts a long-lived process inside the namespace (killed by destroy()). A Python script is
   * the easiest way to hold sockets in exact states; it must print `ready` when set up.
   */
  async spawnReady(cmd: string, args: readonly string[], timeoutMs = 10_000): Promise<ChildProcess> {
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.holders.push(child);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`${cmd} did not print ready in ${timeoutMs} ms`)), timeoutMs);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${cmd} exited with ${code} before ready: ${out}`));
      });
    });
    return child;
  }

  /**
   * A pid inside the namespace, for reading its `/proc/<pid>/net/` view from the test process
   * (the view a collector gets in the namespace). Starts a sleeper on first use.
   */
  async viewPid(): Promise<string> {
    const sleeper = await this.spawnReady('sh', ['-c', 'echo ready; exec sleep 3600']);
    // `ip netns exec` execs the command in place, so the child's pid is inside the namespace.
    const pid = String(sleeper.pid);
    if (!existsSync(`/proc/${pid}/net`)) throw new Error(`no /proc/${pid}/net`);
    return pid;
  }

  destroy(): void {
    for (const h of this.holders) h.kill('SIGKILL');
    try {
      execFileSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}

/** Fails clearly when conntrack cannot be tested here. */
export function requireConntrack(): void {
  requireNetnsTools(['ip', 'python3', 'conntrack', 'iptables']);
  if (!existsSync('/proc/net/stat/nf_conntrack')) {
    try {
      execFileSync('modprobe', ['nf_conntrack'], { stdio: 'ignore' });
    } catch {
      // reported below
    }
    if (!existsSync('/proc/net/stat/nf_conntrack')) throw new Error('nf_conntrack is not loaded and `modprobe nf_conntrack` failed: these tests need it');
  }
}
