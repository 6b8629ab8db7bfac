#!/usr/bin/env node
// Socket collector benchmark (issue 3): makes its own load — N loopback TCP connections (2N
// sockets) held by python3 processes in a network namespace it creates and removes — then
// measures, in that namespace, the CPU (user+sys, from wait4) of `ss -tan`, `ss -tanp`,
// `netstat -tan`, `cat /proc/net/tcp`, and of netagent: CPU per cycle of a running agent
// (`netagent run`, events to a file sink on /dev/null, cycles counted from its agent.stats) with
// its RSS after 10 and after --cycles cycles, and whole `netagent once` processes, each taking
// turns with the tool it is compared with.
// Needs root, iproute2, net-tools, python3 and a build (`npm run build`).
//
// Then, with --unix N unix sockets (N/2 socketpairs held by python3 processes in the same
// namespace), `netagent once` of the unix collector in both modes against `ss -xa` (issue 14).
//
// usage: node bench/sockets.mjs [--connections 50000] [--unix 50000] [--reps 5] [--cycles 100] [--only REGEX]
// (--only: just the agent and `once` cases whose label matches, beside the tools)
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const CONNECTIONS = Number(arg('connections', '50000'));
const REPS = Number(arg('reps', '5'));
const CYCLES = Number(arg('cycles', '100'));
const ONLY = new RegExp(arg('only', ''));
const UNIX_SOCKETS = Number(arg('unix', '50000'));
const PER_PROCESS = 8000; // 16k fds per holder, under the usual 20k hard limit

if (process.getuid?.() !== 0) {
  console.error('bench/sockets.mjs needs root (it creates a network namespace)');
  process.exit(2);
}
if (!existsSync(join(root, 'dist/bundle/main.cjs'))) {
  console.error('run `npm run build` first (the benchmark measures dist/)');
  process.exit(2);
}

// Holds n established connections to 8 listeners on 127.0.0.1:base..base+7, clients bound to
// distinct 127.x.y.z source addresses so ephemeral ports never run out.
const HOLDER = `
import socket, sys, resource, time
n = int(sys.argv[1]); base = int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
keep, servers = [], []
for i in range(8):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", base + i)); s.listen(4096); s.setblocking(False); servers.append(s)
made = 0
while made < n:
    batch = min(1000, n - made)
    for j in range(batch):
        k = made + j
        c = socket.socket(); c.bind((f"127.{1 + base % 200}.{1 + k // 200 % 250}.{1 + k % 200}", 0))
        c.connect(("127.0.0.1", base + k % 8)); keep.append(c)
    made += batch
    for s in servers:
        while True:
            try:
                a, _ = s.accept(); keep.append(a)
            except BlockingIOError:
                break
print("ready", len(keep), flush=True)
time.sleep(86400)
`;

// Holds n unix sockets: n/2 socketpairs, STREAM and DGRAM alternately.
const UNIX_HOLDER = `
import socket, sys, resource, time
n = int(sys.argv[1])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
keep = [socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM if i % 2 == 0 else socket.SOCK_DGRAM) for i in range(n // 2)]
print("ready", 2 * len(keep), flush=True)
time.sleep(86400)
`;

// Runs each of the commands (a JSON list) REPS times, taking turns, with stdout to /dev/null;
// prints the rusage of each run (wait4) per command. Taking turns gives commands compared with
// each other the same moments of a shared machine, whose speed drifts over minutes.
const MEASURE = `
import os, sys, json, time
reps = int(sys.argv[1]); cmds = json.loads(sys.argv[2])
out = [[] for _ in cmds]
for _ in range(reps):
    for i, cmd in enumerate(cmds):
        t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:
            fd = os.open("/dev/null", os.O_WRONLY); os.dup2(fd, 1)
            os.execvp(cmd[0], cmd)
        _, status, ru = os.wait4(pid, 0)
        out[i].append({"cpu": ru.ru_utime + ru.ru_stime, "user": ru.ru_utime, "sys": ru.ru_stime,
                       "wall": time.monotonic() - t0, "maxrss_mib": ru.ru_maxrss / 1024, "status": status})
print(json.dumps(out))
`;

const ns = `nabench-${randomBytes(3).toString('hex')}`;
const work = mkdtempSync(join(tmpdir(), 'netagent-bench-'));
const holders = [];

function inNs(cmd, cmdArgs, opts = {}) {
  return execFileSync('ip', ['netns', 'exec', ns, cmd, ...cmdArgs], { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
}

function cleanup() {
  for (const h of holders) {
    try {
      h.kill('SIGKILL');
    } catch {
      // gone
    }
  }
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  } catch {
    // gone
  }
  rmSync(work, { recursive: true, force: true });
}
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

/** Starts a python3 holder in the namespace; resolves once it printed `ready`. */
function startHolder(path, holderArgs) {
  const child = spawn('ip', ['netns', 'exec', ns, 'python3', path, ...holderArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
  holders.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`holder exited with ${code}: ${out}`)));
  });
}

async function startLoad() {
  execFileSync('ip', ['netns', 'add', ns]);
  inNs('ip', ['link', 'set', 'lo', 'up']);
  const holderPath = join(work, 'holder.py');
  writeFileSync(holderPath, HOLDER);
  const unixHolderPath = join(work, 'unix-holder.py');
  writeFileSync(unixHolderPath, UNIX_HOLDER);
  const ready = [];
  let base = 20000;
  for (let left = CONNECTIONS; left > 0; left -= PER_PROCESS, base += 10) {
    ready.push(startHolder(holderPath, [String(Math.min(PER_PROCESS, left)), String(base)]));
  }
  for (let left = UNIX_SOCKETS; left > 0; left -= 2 * PER_PROCESS) {
    ready.push(startHolder(unixHolderPath, [String(Math.min(2 * PER_PROCESS, left))]));
  }
  await Promise.all(ready);
}

/** Median CPU, peak RSS and success of each command, run REPS times in turns (see MEASURE). */
function measureInTurns(cmds, reps = REPS) {
  const all = JSON.parse(inNs('python3', ['-c', MEASURE, String(reps), JSON.stringify(cmds)], { cwd: root }));
  return all.map((runs) => {
    const cpus = runs.map((r) => r.cpu).sort((a, b) => a - b);
    return {
      cpu: cpus[Math.floor(cpus.length / 2)],
      maxrss_mib: Math.max(...runs.map((r) => r.maxrss_mib)),
      ok: runs.every((r) => r.status === 0),
    };
  });
}

const measure = (cmd) => measureInTurns([cmd])[0];

/** CPU seconds (user+sys) and RSS (MiB) of a live process, from /proc. */
function processUsage(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  return { cpu: ticks / 100, rss };
}

/** Collector runs so far, from the last agent.stats line the agent wrote. */
function runsSoFar(statsFile, type) {
  if (!existsSync(statsFile)) return 0;
  const lines = readFileSync(statsFile, 'utf8').trim().split('\n').filter(Boolean);
  return lines.length ? JSON.parse(lines[lines.length - 1]).netagent.collectors[type].runs : 0;
}

/**
 * A running agent in the namespace: CPU per cycle between cycle 10 and cycle `cycles`, and RSS at
 * both. Events go to a file sink on /dev/null; agent.stats to a file, to count the cycles.
 */
async function runningAgent(name, options, intervalMs, cycles, type = 'tcp') {
  const statsFile = join(work, `${name}-stats.ndjson`);
  const cfg = join(work, `${name}-run.yaml`);
  writeFileSync(
    cfg,
    `agent: {stats_interval: ${Math.max(200, Math.floor(intervalMs / 2))}ms, state_dir: ${work}/state}\n` +
      `collectors:\n  - type: ${type}\n    interval: ${intervalMs}ms\n    options: ${JSON.stringify(options)}\n` +
      `sinks:\n  - {type: file, id: events, datasets: ["${type}.*"], options: {path: /dev/null}}\n` +
      `  - {type: file, id: stats, datasets: ["agent.stats"], options: {path: ${statsFile}}}\n`,
  );
  const agent = spawn('ip', ['netns', 'exec', ns, 'node', join(root, 'bin/netagent'), 'run', '-c', cfg], { stdio: 'ignore' });
  const pid = agent.pid;
  const wait = async (runs) => {
    while (runsSoFar(statsFile, type) < runs) {
      if (agent.exitCode !== null) throw new Error(`agent exited with ${agent.exitCode}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { runs: runsSoFar(statsFile, type), ...processUsage(pid) };
  };
  try {
    const at10 = await wait(10);
    const atN = await wait(cycles);
    return { perCycle: (atN.cpu - at10.cpu) / (atN.runs - at10.runs), rss10: at10.rss, rssN: atN.rss, runs: atN.runs };
  } finally {
    agent.kill('SIGTERM');
  }
}

function onceConfig(name, options, type = 'tcp') {
  const path = join(work, `${name}.yaml`);
  writeFileSync(
    path,
    `agent: {state_dir: ${work}/state}\ncollectors:\n  - type: ${type}\n    options: ${JSON.stringify(options)}\nsinks:\n  - type: stdout\n`,
  );
  return path;
}

const fmt = (x) => x.toFixed(3);
const ratio = (a, b) => `${(a / b).toFixed(2)}×`;

try {
  const t0 = Date.now();
  await startLoad();
  const sockets = Number(inNs('sh', ['-c', 'grep -c : /proc/net/tcp']).trim());
  console.log(`namespace ${ns}: ${sockets} TCP sockets (${CONNECTIONS} connections) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`CPU seconds (user+sys), median of ${REPS} runs:`);

  const tools = {
    'ss -tan': measure(['ss', '-tan']),
    'ss -tani': measure(['ss', '-tani']),
    'ss -tln': measure(['ss', '-tln']),
    'ss -tanp': measure(['ss', '-tanp']),
    'ss -xa': measure(['ss', '-xa']),
    'netstat -tan': measure(['netstat', '-tan']),
    'cat /proc/net/tcp': measure(['cat', '/proc/net/tcp']),
    'node -e 0': measure(['node', '-e', '0']),
  };
  const ss = tools['ss -tan'].cpu;
  for (const [name, r] of Object.entries(tools)) {
    console.log(`  ${name.padEnd(44)} ${fmt(r.cpu)} s  ${ratio(r.cpu, ss)} ss -tan  rss ${r.maxrss_mib.toFixed(0)} MiB`);
  }

  console.log(`a running agent (netagent run), CPU per cycle over cycles 10..${CYCLES}, RSS at cycle 10 and ${CYCLES}:`);
  // [label, options, interval, target, compared with, collector]
  const agentCases = [
    ['summary, source: proc', { mode: 'summary', source: 'proc' }, 500, 1.0, 'ss -tan'],
    ['summary, source: netlink', { mode: 'summary', source: 'netlink' }, 500, 0.5, 'ss -tan'],
    ['sockets, source: proc', { mode: 'sockets', source: 'proc' }, 1000, 2.5, 'ss -tan'],
    ['sockets, source: netlink', { mode: 'sockets', source: 'netlink' }, 1000, 1.0, 'ss -tan'],
    ['sockets, info: true (netlink)', { mode: 'sockets', info: true }, 1500, 0.5, 'ss -tani'],
    ['states: [LISTEN], source: netlink', { mode: 'sockets', states: ['LISTEN'], source: 'netlink' }, 200, 0.05, 'ss -tan'],
    // Lifecycle (issue 13): every socket diffed each cycle, its bytes kept for its end.
    ['summary, connections: true (netlink)', { mode: 'summary', source: 'netlink', connections: true }, 1000, 1.0, 'ss -tan'],
    ['summary, connections + info (netlink)', { mode: 'summary', connections: true, info: true }, 1500, 0.5, 'ss -tani'],
    ['unix summary', { mode: 'summary' }, 500, 0.5, 'ss -xa', 'unix'],
    ['unix sockets', { mode: 'sockets' }, 1000, 1.5, 'ss -xa', 'unix'],
  ];
  for (const [name, options, intervalMs, target, vs, type = 'tcp'] of agentCases.filter(([label]) => ONLY.test(label))) {
    const r = await runningAgent(name.replace(/\W+/g, '-'), options, intervalMs, CYCLES, type);
    const growth = (r.rssN / r.rss10 - 1) * 100;
    console.log(
      `  ${name.padEnd(44)} ${fmt(r.perCycle)} s  ${ratio(r.perCycle, tools[vs].cpu)} ${vs} (target ≤ ${target}×)` +
        `  rss ${r.rss10.toFixed(0)} → ${r.rssN.toFixed(0)} MiB (${growth >= 0 ? '+' : ''}${growth.toFixed(0)}%, target within 20%)`,
    );
  }

  console.log('whole `netagent once` processes (start-up included), stdout to /dev/null, each in turns with its reference:');
  const bin = join(root, 'bin/netagent');
  const runs = [
    ['summary, source: proc', { mode: 'summary', source: 'proc' }, 1.5, 'ss -tan'],
    ['summary, source: netlink', { mode: 'summary', source: 'netlink' }, 1.5, 'ss -tan'],
    ['sockets, source: proc', { mode: 'sockets', source: 'proc' }, 3.0, 'ss -tan'],
    ['sockets, source: netlink', { mode: 'sockets', source: 'netlink' }, 3.0, 'ss -tan'],
    ['states: [LISTEN], source: netlink', { mode: 'sockets', states: ['LISTEN'], source: 'netlink' }, 0.5, 'ss -tan'],
    ['sockets, processes: true', { mode: 'sockets', processes: true }, 0.6, 'ss -tanp'],
  ];
  const unixSockets = Number(inNs('sh', ['-c', 'grep -c : /proc/net/unix']).trim());
  console.log(`  (unix: ${unixSockets} sockets in the namespace)`);
  runs.push(
    ['unix, mode: sockets', { mode: 'sockets' }, 1.5, 'ss -xa', 'unix'],
    ['unix, mode: summary', { mode: 'summary' }, 0.5, 'ss -xa', 'unix'],
  );
  for (const [label, options, target, vs, type] of runs.filter(([label]) => ONLY.test(label))) {
    const cfg = onceConfig(label.replace(/\W+/g, '-'), options, type);
    const [r, ref] = measureInTurns([['node', bin, 'once', '-c', cfg], vs.split(' ')]);
    console.log(
      `  ${label.padEnd(44)} ${fmt(r.cpu)} s  ${ratio(r.cpu, ref.cpu)} ${vs} (${fmt(ref.cpu)} s in these turns; target ≤ ${target}×)` +
        `  peak rss ${r.maxrss_mib.toFixed(0)} MiB${r.ok ? '' : '  (FAILED)'}`,
    );
  }
} finally {
  cleanup();
}
