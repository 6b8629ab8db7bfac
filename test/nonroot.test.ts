/**
 * netagent as an unprivileged user (nobody, through setpriv), with and without the two capabilities
 * docs/deploy.md asks for (CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH):
 * - without them every /proc/net collector still works (the tables are world-readable); process
 *   attribution and other namespaces are what is lost, and each is reported once, not per socket
 *   or per cycle;
 * - with them (ambient, as the systemd unit grants them) a non-root agent sees what root sees.
 * The agent runs from a copy of what the package installs (package.json `files`) in a directory nobody
 * may enter: a checkout under /root or in a `mktemp -d` directory is closed to that user.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nsInode } from '../src/core/netns.js';
import { NetNamespace, requireNetnsTools } from './helpers/netns.js';

const ROOT = resolve(import.meta.dirname, '..');
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
const CAPS = ['--inh-caps=+sys_ptrace,+dac_read_search', '--ambient-caps=+sys_ptrace,+dac_read_search'];

const LISTEN = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
s.listen(4)
print("ready", s.getsockname()[1], flush=True)
import signal; signal.pause()
`;

interface Run {
  status: number | null;
  events: Record<string, any>[];
  stderr: string;
}

let dir: string;
let bin: string;

/**
 * Copies the installed file set of the package into `into` (readable by all) and checks that nobody can
 * start the agent from there, failing at once with the reason rather than letting every test time out.
 */
function installForNobody(into: string): string {
  const files = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] }).files;
  for (const f of [...files, 'package.json']) cpSync(join(ROOT, f), join(into, f), { recursive: true });
  const r = spawnSync('sh', ['-c', `chmod -R a+rX "$1" && setpriv ${NOBODY.join(' ')} node "$1/bin/netagent" --version`, 'sh', into], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status !== 0) {
    throw new Error(
      `nobody (uid 65534) cannot run the agent copied to ${into}: ${r.stderr || r.error}
` +
        `Every directory above it must be searchable by others: ${tmpdir()} comes from TMPDIR; ` +
        'set TMPDIR=/tmp (or chmod o+x the directories on the way) and rerun. Is `npm run build` done?',
    );
  }
  return join(into, 'bin/netagent');
}

function writeConfig(name: string, netns: string, interval = '1s'): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `agent:\n  netns: ${netns}\n  interval: ${interval}\n  stats_interval: 0s\n  state_dir: ${dir}/state-${name}\n` +
      'collectors:\n' +
      '  - {type: tcp, options: {processes: true}, timeout: 20s}\n' +
      '  - {type: udp, options: {processes: true}, timeout: 20s}\n' +
      '  - {type: unix, options: {processes: true}, timeout: 20s}\n' +
      '  - {type: iface, timeout: 20s}\n  - {type: route, timeout: 20s}\n  - {type: snmp, timeout: 20s}\n  - {type: igmp, timeout: 20s}\n' +
      'sinks:\n  - type: stdout\n',
  );
  chmodSync(file, 0o644);
  return file;
}

/** `netagent run` as nobody for about `ms` (several cycles), then SIGTERM. */
async function runAsNobody(config: string, caps: boolean, ms = 2500): Promise<Run> {
  const child: ChildProcess = spawn('setpriv', [...NOBODY, ...(caps ? CAPS : []), 'node', bin, 'run', '-c', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: dir,
  });
  // Listened for at once: a child that fails at start has exited before the wait below ends.
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise((r) => setTimeout(r, ms));
  child.kill('SIGTERM');
  const status = await exited;
  const events = stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
  return { status, events, stderr };
}

const portOf = (child: { port: number }) => child.port;

describe('netagent as a non-root user', () => {
  let ns: NetNamespace;
  let nsListener: { pid: number; port: number; inode: number };
  let hostListener: { proc: ChildProcess; pid: number; port: number };

  beforeAll(async () => {
    requireNetnsTools(['ip', 'python3', 'setpriv']);
    dir = mkdtempSync(join(tmpdir(), 'nonroot-'));
    chmodSync(dir, 0o777);
    bin = installForNobody(join(dir, 'agent'));
    writeFileSync(join(dir, 'listen.py'), LISTEN);
    chmodSync(join(dir, 'listen.py'), 0o644);
    ns = NetNamespace.create('nanonroot');
    // A root-owned listener inside a namespace of its own, and one on the host's loopback.
    const inNs = await ns.spawnReady('python3', ['-c', LISTEN]);
    nsListener = {
      pid: inNs.pid!,
      port: ssPort(ns.exec('ss', ['-Htln'])),
      inode: nsInode(readlinkSync(`/proc/${inNs.pid}/ns/net`))!,
    };
    expect(nsListener.port).toBeGreaterThan(0);
    const host = spawn('python3', ['-c', LISTEN], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolvePort, reject) => {
      let text = '';
      host.stdout!.on('data', (d: Buffer) => {
        text += d.toString();
        const m = /ready (\d+)/.exec(text);
        if (m) resolvePort(Number(m[1]));
      });
      host.once('exit', (c) => reject(new Error(`listener exited ${c}`)));
    });
    hostListener = { proc: host, pid: host.pid!, port };
  }, 30_000);

  afterAll(() => {
    hostListener?.proc.kill('SIGKILL');
    ns?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('without capabilities: every collector works, process attribution is reported missing once', async () => {
    const run = await runAsNobody(writeConfig('plain', 'self'), false);
    expect(run.status, run.stderr).toBe(0);
    const datasets = new Set(run.events.map((e) => e.event.dataset));
    for (const d of ['tcp.socket', 'unix.socket', 'iface.stats', 'route.entry', 'snmp.counters', 'igmp.membership']) expect(datasets, d).toContain(d);
    // The root-owned listener is there (the table is world-readable) but without its process.
    const mine = run.events.filter((e) => e.event.dataset === 'tcp.socket' && e.source.port === portOf(hostListener) && e.socket.state === 'LISTEN');
    expect(mine.length).toBeGreaterThan(0);
    for (const e of mine) expect(e.process).toBeUndefined();
    // Several cycles ran, yet the missing permission is one warning per collector.
    expect(run.events.filter((e) => e.event.dataset === 'tcp.socket' && e.source.port === portOf(hostListener)).length).toBeGreaterThanOrEqual(2);
    const warnings = run.stderr.split('\n').filter((l) => l.includes('cannot read the fd directories'));
    const byCollector = warnings.map((l) => (JSON.parse(l) as { collector: string }).collector).sort();
    expect(byCollector).toEqual(['tcp', 'udp', 'unix']);
  });

  it('without capabilities, netns: all sees only namespaces it may enter, and says so once', async () => {
    const run = await runAsNobody(writeConfig('all-plain', 'all'), false);
    expect(run.status, run.stderr).toBe(0);
    expect(run.events.some((e) => e.netns?.inode === nsListener.inode)).toBe(false);
    expect(run.events.some((e) => e.event.dataset === 'tcp.socket')).toBe(true); // its own namespace
    expect(run.stderr.match(/cannot read the ns\/net link/g)).toHaveLength(1);
  });

  it('netns: host (pid 1 of proc_root) needs no capability', async () => {
    const run = await runAsNobody(writeConfig('host', 'host'), false, 1500);
    expect(run.status, run.stderr).toBe(0);
    expect(run.events.some((e) => e.event.dataset === 'tcp.socket')).toBe(true);
    expect(run.stderr).not.toMatch(/"level":50/);
  });

  it('with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH: other namespaces and process attribution', async () => {
    const run = await runAsNobody(writeConfig('caps', 'all'), true);
    expect(run.status, run.stderr).toBe(0);
    const inNs = run.events.filter((e) => e.event.dataset === 'tcp.socket' && e.netns?.inode === nsListener.inode && e.socket.state === 'LISTEN');
    expect(inNs.length).toBeGreaterThan(0);
    for (const e of inNs) expect(e.process).toEqual({ pid: nsListener.pid, name: 'python3' });
    const onHost = run.events.filter((e) => e.event.dataset === 'tcp.socket' && e.source.port === portOf(hostListener) && e.socket.state === 'LISTEN' && e.netns?.inode === nsInode(readlinkSync('/proc/self/ns/net')));
    expect(onHost.length).toBeGreaterThan(0);
    for (const e of onHost) expect(e.process?.pid).toBe(hostListener.pid);
  });

  it('the capabilities are needed, not just helpful: each one alone is not enough for process attribution', () => {
    for (const cap of ['sys_ptrace', 'dac_read_search']) {
      const r = spawnSync(
        'setpriv',
        [...NOBODY, `--inh-caps=+${cap}`, `--ambient-caps=+${cap}`, 'sh', '-c', `ls /proc/${hostListener.pid}/fd >/dev/null && readlink /proc/${hostListener.pid}/fd/0`],
        { encoding: 'utf8' },
      );
      expect(r.status, `${cap} alone`).not.toBe(0);
    }
    const both = spawnSync('setpriv', [...NOBODY, ...CAPS, 'sh', '-c', `ls /proc/${hostListener.pid}/fd >/dev/null && readlink /proc/${hostListener.pid}/ns/net`], {
      encoding: 'utf8',
    });
    expect(both.status, both.stderr).toBe(0);
    expect(both.stdout.trim()).toMatch(/^net:\[\d+\]$/);
  });
});

function ssPort(ssOut: string): number {
  const m = /127\.0\.0\.1:(\d+)/.exec(ssOut);
  return m ? Number(m[1]) : 0;
}
