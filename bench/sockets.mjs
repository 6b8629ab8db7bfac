#!/usr/bin/env node
// Socket collector benchmark (issue 3): makes its own load — N loopback TCP connections (2N
// sockets) held by python3 processes in a network namespace it creates and removes — then
// measures, in that namespace, the CPU (user+sys, from wait4) of `ss -tan`, `ss -tanp`,
// `netstat -tan`, `cat /proc/net/tcp`, and of the tcp collector: per cycle inside a running
// process (bench/sockets-worker.mjs) and, when bin/netagent works, whole `netagent once` runs.
// Needs root, iproute2, net-tools, python3 and a build (`npm run build`).
//
// usage: node bench/sockets.mjs [--connections 50000] [--reps 5] [--cycles 20] [--json]
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
const CYCLES = Number(arg('cycles', '20'));
const PER_PROCESS = 8000; // 16k fds per holder, under the usual 20k hard limit

if (process.getuid?.() !== 0) {
  console.error('bench/sockets.mjs needs root (it creates a network namespace)');
  process.exit(2);
}
if (!existsSync(join(root, 'dist/plugins/collectors/tcp/collector.js'))) {
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

// Runs a command REPS times with stdout to /dev/null; prints the rusage of each run (wait4).
const MEASURE = `
import os, sys, json, time
reps = int(sys.argv[1]); cmd = sys.argv[2:]
out = []
for _ in range(reps):
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        fd = os.open("/dev/null", os.O_WRONLY); os.dup2(fd, 1)
        os.execvp(cmd[0], cmd)
    _, status, ru = os.wait4(pid, 0)
    out.append({"cpu": ru.ru_utime + ru.ru_stime, "user": ru.ru_utime, "sys": ru.ru_stime,
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

async function startLoad() {
  execFileSync('ip', ['netns', 'add', ns]);
  inNs('ip', ['link', 'set', 'lo', 'up']);
  const holderPath = join(work, 'holder.py');
  writeFileSync(holderPath, HOLDER);
  let left = CONNECTIONS;
  let base = 20000;
  const ready = [];
  while (left > 0) {
    const n = Math.min(PER_PROCESS, left);
    const child = spawn('ip', ['netns', 'exec', ns, 'python3', holderPath, String(n), String(base)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    holders.push(child);
    ready.push(
      new Promise((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('ready')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`holder exited with ${code}: ${out}`)));
      }),
    );
    left -= n;
    base += 10;
  }
  await Promise.all(ready);
}

function measure(cmd, reps = REPS) {
  const runs = JSON.parse(inNs('python3', ['-c', MEASURE, String(reps), ...cmd], { cwd: root }));
  const cpus = runs.map((r) => r.cpu).sort((a, b) => a - b);
  return {
    cpu: cpus[Math.floor(cpus.length / 2)],
    maxrss_mib: Math.max(...runs.map((r) => r.maxrss_mib)),
    ok: runs.every((r) => r.status === 0),
  };
}

function worker(mode, sink, processes) {
  const out = inNs('node', [join(root, 'bench/sockets-worker.mjs'), mode, String(CYCLES), sink, String(processes)], {
    cwd: root,
  });
  return JSON.parse(out.trim().split('\n').pop());
}

function netagentWorks() {
  try {
    execFileSync('node', [join(root, 'bin/netagent'), 'plugins'], { stdio: 'ignore', cwd: root });
    return true;
  } catch {
    return false;
  }
}

function onceConfig(name, options) {
  const path = join(work, `${name}.yaml`);
  writeFileSync(
    path,
    `collectors:\n  - type: tcp\n    options: ${JSON.stringify(options)}\nsinks:\n  - type: stdout\n`,
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
    'ss -tanp': measure(['ss', '-tanp']),
    'netstat -tan': measure(['netstat', '-tan']),
    'cat /proc/net/tcp': measure(['cat', '/proc/net/tcp']),
    'node -e 0': measure(['node', '-e', '0']),
  };
  const ss = tools['ss -tan'].cpu;
  const ssp = tools['ss -tanp'].cpu;
  for (const [name, r] of Object.entries(tools)) {
    console.log(`  ${name.padEnd(44)} ${fmt(r.cpu)} s  ${ratio(r.cpu, ss)} ss -tan  rss ${r.maxrss_mib.toFixed(0)} MiB`);
  }

  console.log(`tcp collector inside one process, CPU per cycle (median of cycles 2..${CYCLES}):`);
  const cases = [
    ['summary', 'none', false, 'mode: summary', 1.0, ss],
    ['sockets', 'none', false, 'mode: sockets, emit only', null, ss],
    ['sockets', 'json', false, 'mode: sockets, + EventStamper to /dev/null', 2.5, ss],
    ['sockets', 'json-raw', false, 'mode: sockets, + stamper using FIELDS_JSON', 2.5, ss],
    ['sockets', 'json-raw', true, 'mode: sockets, processes: true, FIELDS_JSON', null, ssp],
  ];
  for (const [mode, sink, processes, label, target, ref] of cases) {
    const r = worker(mode, sink, processes);
    const vs = ref === ss ? 'ss -tan' : 'ss -tanp';
    const rss10 = r.rss[10] ?? r.rss[1];
    const rssN = r.rss[CYCLES];
    console.log(
      `  ${label.padEnd(44)} ${fmt(r.median)} s  ${ratio(r.median, ref)} ${vs}` +
        (target ? ` (target ≤ ${target}×)` : '') +
        `  first cycle ${fmt(r.first)} s  events ${r.events}  rss@10 ${(rss10 / 2 ** 20).toFixed(0)} MiB @${CYCLES} ${(rssN / 2 ** 20).toFixed(0)} MiB`,
    );
  }

  if (netagentWorks()) {
    console.log('whole `netagent once` processes (start-up included), stdout to /dev/null:');
    const bin = join(root, 'bin/netagent');
    const runs = [
      ['mode: summary', { mode: 'summary' }, 1.5, ss, 'ss -tan'],
      ['mode: sockets', { mode: 'sockets' }, 3.0, ss, 'ss -tan'],
      ['mode: sockets, processes: true', { mode: 'sockets', processes: true }, 0.6, ssp, 'ss -tanp'],
    ];
    for (const [label, options, target, ref, vs] of runs) {
      const cfg = onceConfig(label.replace(/\W+/g, '-'), options);
      const r = measure(['node', bin, 'once', '-c', cfg], Math.min(REPS, 3));
      console.log(
        `  ${label.padEnd(44)} ${fmt(r.cpu)} s  ${ratio(r.cpu, ref)} ${vs} (target ≤ ${target}×)  peak rss ${r.maxrss_mib.toFixed(0)} MiB${r.ok ? '' : '  (FAILED)'}`,
      );
    }
  } else {
    console.log('bin/netagent not usable yet: `netagent once` figures skipped');
  }
} finally {
  cleanup();
}
