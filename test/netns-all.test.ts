/**
 * `agent.netns: all` against namespaces made here, each holding its own listeners: every
 * namespace is found once, read through a pid inside it, and its sockets are tagged with its
 * inode (the oracle: `readlink /proc/PID/ns/net` and `ss -tln` inside the namespace).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AllNetnsProcFs, nsInode, parseCgroup } from '../src/core/netns.js';
import { NetNamespace, requireNetnsTools } from './helpers/netns.js';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'netagent');

const LISTEN = `
import socket, sys, time
socks = []
for port in sys.argv[1:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(port)))
    s.listen(8)
    socks.append(s)
print("ready", flush=True)
time.sleep(3600)
`;

interface TestNs {
  ns: NetNamespace;
  pid: number;
  inode: number;
  ports: number[];
}

function inodeOf(pid: number | string): number {
  return nsInode(readlinkSync(`/proc/${pid}/ns/net`))!;
}

/** pid 1's ns link may be unreadable even to root (a pid 1 with more capabilities, as in some sandboxes). */
function hostInode(): number | undefined {
  try {
    return inodeOf(1);
  } catch {
    return undefined;
  }
}

describe('agent.netns: all', () => {
  const spaces: TestNs[] = [];
  let dir: string;

  beforeAll(async () => {
    requireNetnsTools(['ip', 'ss', 'python3']);
    dir = mkdtempSync(join(tmpdir(), 'netns-all-'));
    writeFileSync(join(dir, 'listen.py'), LISTEN);
    for (let i = 0; i < 3; i++) {
      const ns = NetNamespace.create('naall');
      // Distinct ports per namespace, so that a socket shows up in the wrong one visibly.
      const ports = [41000 + i * 10 + 1, 41000 + i * 10 + 2];
      const holder = await ns.spawnReady('python3', [join(dir, 'listen.py'), ...ports.map(String)]);
      spaces.push({ ns, pid: holder.pid!, inode: inodeOf(holder.pid!), ports });
    }
  }, 30_000);

  afterAll(() => {
    for (const s of spaces) s.ns.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds each namespace once, read through a pid inside it', async () => {
    const procfs = new AllNetnsProcFs('/proc');
    const views = await procfs.netViews();
    const inodes = views.map((v) => (v.fields.netns as { inode: number }).inode);
    expect(new Set(inodes).size).toBe(inodes.length); // deduplicated
    for (const s of spaces) {
      const view = views.find((v) => (v.fields.netns as { inode: number }).inode === s.inode);
      expect(view, `namespace ${s.ns.name}`).toBeDefined();
      expect(inodeOf(view!.pid)).toBe(s.inode);
      expect((view!.fields.netns as { host?: boolean }).host).toBe(hostInode() === undefined ? undefined : false);
      // The view reads that namespace's table: its listeners are there (ss inside is the oracle).
      const table = (await procfs.readNet(view!, 'tcp'))!.toString();
      const ss = s.ns.exec('ss', ['-Htln']);
      for (const port of s.ports) {
        expect(ss).toContain(`127.0.0.1:${port}`);
        expect(table).toContain(`0100007F:${port.toString(16).toUpperCase()}`);
      }
    }
    const hostIno = hostInode();
    if (hostIno !== undefined) {
      const host = views.find((v) => (v.fields.netns as { inode: number }).inode === hostIno);
      expect((host!.fields.netns as { host: boolean }).host).toBe(true);
    }
    // The agent's own namespace is one of them too.
    expect(inodes).toContain(inodeOf(process.pid));
  });

  it('revalidates cached pids instead of rescanning every process, and follows a vanished pid', async () => {
    const procfs = new AllNetnsProcFs('/proc', { reuseMs: 0 });
    await procfs.netViews();
    const afterFirst = procfs.stats.linksRead;
    const pidCount = afterFirst;
    await procfs.netViews();
    const second = procfs.stats.linksRead - afterFirst;
    expect(procfs.stats.fullScans).toBe(1);
    // One readlink per namespace (revalidation) plus the few processes started meanwhile.
    expect(second).toBeLessThan(pidCount);
    expect(procfs.stats.cgroupsRead).toBeLessThanOrEqual((await procfs.netViews()).length);

    // A second process joins namespace 0, then the first one goes: the namespace stays, read
    // through the newcomer.
    const s = spaces[0]!;
    const sleeper = await s.ns.viewPid();
    await procfs.netViews();
    process.kill(s.pid, 'SIGKILL');
    await waitGone(s.pid);
    const views = await procfs.netViews();
    const view = views.find((v) => (v.fields.netns as { inode: number }).inode === s.inode);
    expect(view?.pid).toBe(sleeper);
    expect(procfs.stats.fullScans).toBe(1);
    // Reading through a pid that is gone is "no data", not an error.
    expect(await procfs.readNet({ pid: String(s.pid), fields: {} }, 'tcp')).toBeNull();
  });

  it('netagent once with the tcp collector tags each namespace\'s sockets with its inode', async () => {
    const listed = execFileSync('node', [BIN, 'plugins'], { encoding: 'utf8' });
    // The tcp collector is loaded as a path plugin until it is a registered built-in.
    const config = join(dir, 'all.yaml');
    let plugins = '';
    if (!/^tcp\s/m.test(listed)) {
      writeFileSync(join(dir, 'tcp.mjs'), `export { tcpCollector as default } from '${join(ROOT, 'dist/plugins/collectors/tcp/index.js')}';\n`);
      plugins = `plugins:\n  - path: ./tcp.mjs\n`;
    }
    writeFileSync(
      config,
      `agent:\n  netns: all\n  stats_interval: 0s\n  state_dir: ${dir}/state\n${plugins}` +
        `collectors:\n  - type: tcp\n    options: {states: [LISTEN], processes: false}\nsinks:\n  - type: stdout\n`,
    );
    const run = spawnSync('node', [BIN, 'once', '-c', config], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    const events = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const alive = spaces.filter((s) => s !== spaces[0]); // the first one lost its listener above
    for (const s of alive) {
      const mine = events.filter((e) => e.netns?.inode === s.inode);
      const ports = mine.map((e) => e.source.port as number).sort();
      const ss = s.ns.exec('ss', ['-Htln']).trim().split('\n').filter(Boolean);
      expect(ports).toEqual(s.ports);
      expect(mine.length).toBe(ss.length);
      for (const e of mine) expect(e.netns.host).toBe(hostInode() === undefined ? undefined : false);
      // No other namespace reports them.
      const elsewhere = events.filter((e) => e.netns?.inode !== s.inode && s.ports.includes(e.source.port));
      expect(elsewhere).toEqual([]);
    }
    // Every event comes from some namespace view.
    for (const e of events) expect(typeof e.netns?.inode).toBe('number');
  }, 60_000);
});

/**
 * A fake proc root: `<pid>/ns/net` symlinks whose text is `net:[inode]` (readlink needs no target)
 * and `<pid>/cgroup` files. Deterministic cases a live system cannot stage on demand.
 */
class FakeProc {
  readonly root = mkdtempSync(join(tmpdir(), 'fakeproc-'));
  add(pid: number, inode: number, cgroup = '0::/\n'): void {
    mkdirSync(join(this.root, String(pid), 'ns'), { recursive: true });
    symlinkSync(`net:[${inode}]`, join(this.root, String(pid), 'ns', 'net'));
    writeFileSync(join(this.root, String(pid), 'cgroup'), cgroup);
  }
  move(pid: number, inode: number): void {
    unlinkSync(join(this.root, String(pid), 'ns', 'net'));
    symlinkSync(`net:[${inode}]`, join(this.root, String(pid), 'ns', 'net'));
  }
  remove(pid: number): void {
    rmSync(join(this.root, String(pid)), { recursive: true });
  }
  destroy(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

const summary = (views: readonly { pid: string; fields: Record<string, unknown> }[]) =>
  views.map((v) => `${(v.fields.netns as { inode: number }).inode}@${v.pid}`);

describe('agent.netns: all on a fake proc root', () => {
  const docker = 'c'.repeat(64);

  it('one view per namespace through its lowest pid, tagged with namespace and container', async () => {
    const proc = new FakeProc();
    proc.add(1, 100);
    proc.add(2, 100);
    proc.add(50, 200, `0::/system.slice/docker-${docker}.scope\n`);
    proc.add(40, 200, `0::/system.slice/docker-${docker}.scope\n`);
    proc.add(60, 300);
    const fs = new AllNetnsProcFs(proc.root);
    const views = await fs.netViews();
    expect(summary(views)).toEqual(['100@1', '200@40', '300@60']);
    expect(views[0]!.fields).toEqual({ netns: { inode: 100, host: true } });
    expect(views[1]!.fields).toEqual({ netns: { inode: 200, host: false }, container: { id: docker, runtime: 'docker' } });
    expect(Object.isFrozen(views[1]!.fields)).toBe(true);
    proc.destroy();
  });

  it('between full scans: reads new pids only, revalidates kept pids, follows moves and exits', async () => {
    const proc = new FakeProc();
    for (let pid = 1; pid <= 100; pid++) proc.add(pid, pid <= 90 ? 100 : 200);
    const fs = new AllNetnsProcFs(proc.root, { reuseMs: 0 });
    await fs.netViews();
    expect(fs.stats.linksRead).toBe(100);
    let before = fs.stats.linksRead;
    // Nothing changed: one readlink per namespace to revalidate its pid, nothing else.
    expect(summary(await fs.netViews())).toEqual(['100@1', '200@91']);
    expect(fs.stats.linksRead - before).toBe(2);
    // A new process in a new namespace; the reading pid of 200 exits; the other 200 pids stay.
    proc.add(150, 300);
    proc.remove(91);
    before = fs.stats.linksRead;
    expect(summary(await fs.netViews())).toEqual(['100@1', '200@92', '300@150']);
    expect(fs.stats.linksRead - before).toBeLessThanOrEqual(4);
    // The reading pid moves to another namespace (setns): noticed at once, another pid takes over,
    // and the mover is known in its new namespace from the next cycle.
    proc.move(92, 300);
    expect(summary(await fs.netViews())).toEqual(['100@1', '200@93', '300@150']);
    await fs.netViews();
    proc.remove(150);
    expect(summary(await fs.netViews())).toEqual(['100@1', '300@92', '200@93']); // ordered by reading pid
    // Every process of a namespace gone: so is the namespace.
    for (let pid = 93; pid <= 100; pid++) proc.remove(pid);
    expect(summary(await fs.netViews())).toEqual(['100@1', '300@92']);
    expect(fs.stats.fullScans).toBe(1);
    proc.destroy();
  });

  it('bounds the links read per cycle; the rest come next cycle', async () => {
    const proc = new FakeProc();
    proc.add(1, 100);
    const fs = new AllNetnsProcFs(proc.root, { reuseMs: 0, maxLinksPerCycle: 3 });
    await fs.netViews();
    for (let pid = 10; pid < 20; pid++) proc.add(pid, 1000 + pid);
    const seen: number[] = [];
    for (let cycle = 0; cycle < 4; cycle++) seen.push((await fs.netViews()).length);
    expect(seen).toEqual([4, 7, 10, 11]);
    proc.destroy();
  });

  it('a full rescan comes after fullRescanMs; collectors of one tick share one scan', async () => {
    const proc = new FakeProc();
    proc.add(1, 100);
    let now = 0;
    const fs = new AllNetnsProcFs(proc.root, { reuseMs: 1000, fullRescanMs: 60_000, now: () => now });
    const [a, b] = await Promise.all([fs.netViews(), fs.netViews()]);
    expect(a).toBe(b);
    now = 500;
    expect(await fs.netViews()).toBe(a);
    expect(fs.stats.linksRead).toBe(1);
    now = 61_000;
    await fs.netViews();
    expect(fs.stats.fullScans).toBe(2);
    proc.destroy();
  });

  it('a pid whose ns link is gone is skipped as vanished, not reported as denied (permission: test/nonroot.test.ts)', async () => {
    const proc = new FakeProc();
    proc.add(1, 100);
    mkdirSync(join(proc.root, '7', 'ns'), { recursive: true }); // a pid whose link cannot be read: no link at all here
    const denied: number[] = [];
    const fs = new AllNetnsProcFs(proc.root, { reuseMs: 0, onDenied: (n) => denied.push(n) });
    expect(summary(await fs.netViews())).toEqual(['100@1']);
    expect(denied).toEqual([]); // ENOENT is a vanished pid, not a permission problem
    proc.destroy();
  });
});

describe('container id from the cgroup path', () => {
  const id = 'a'.repeat(12) + '0123456789abcdef'.repeat(3) + 'b'.repeat(4);
  it.each([
    ['docker cgroupfs', `12:memory:/docker/${id}\n0::/docker/${id}\n`, { id, runtime: 'docker' }],
    ['docker systemd', `0::/system.slice/docker-${id}.scope\n`, { id, runtime: 'docker' }],
    ['podman', `0::/machine.slice/libpod-${id}.scope/container\n`, { id, runtime: 'podman' }],
    ['podman conmon is no container', `0::/machine.slice/libpod-conmon-${id}.scope\n`, {}],
    ['cri-o', `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0b5e7d1c_3f6a_4a57_9b1e_2d8c6f0a1b2c.slice/crio-${id}.scope\n`,
      { id, runtime: 'cri-o', podUid: '0b5e7d1c-3f6a-4a57-9b1e-2d8c6f0a1b2c' }],
    ['containerd systemd', `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0b5e7d1c_3f6a_4a57_9b1e_2d8c6f0a1b2c.slice/cri-containerd-${id}.scope\n`,
      { id, runtime: 'containerd', podUid: '0b5e7d1c-3f6a-4a57-9b1e-2d8c6f0a1b2c' }],
    ['k8s cgroupfs', `11:cpu:/kubepods/burstable/pod0b5e7d1c-3f6a-4a57-9b1e-2d8c6f0a1b2c/${id}\n`,
      { id, podUid: '0b5e7d1c-3f6a-4a57-9b1e-2d8c6f0a1b2c' }],
    ['seen from another cgroup namespace', `0::/../../system.slice/docker-${id}.scope\n`, { id, runtime: 'docker' }],
    ['a host process', '0::/user.slice/user-1000.slice/session-2.scope\n', {}],
    ['this machine', '4:memory:/process_api/9e899b4989e606995a875db990cd4458\n0::/\n', {}],
  ])('%s', (_name, text, expected) => {
    expect(parseCgroup(text)).toEqual(expected);
  });
});

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`pid ${pid} still alive`);
}
