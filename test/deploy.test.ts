/**
 * The deployment files, checked structurally (Docker, Kubernetes and a systemd PID 1 are not on the
 * test machines), and the Elasticsearch template checked against what the collectors really emit:
 * `netagent run` with every built-in /proc collector over every namespace, one of them made here with
 * sockets in many states, routes and multicast groups; every field path of every event must be
 * mapped with a compatible type, so the template cannot drift from the collectors.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { createTestNet, type TestNet } from './helpers/host-testnet.js';
import { requireNetnsTools } from './helpers/netns.js';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin/netagent');
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'deploy-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function validate(configText: string, env: Record<string, string> = {}): { status: number | null; out: string } {
  const file = join(tmp, `validate-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, configText);
  const r = spawnSync('node', [BIN, 'validate', '-c', file], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, out: r.stdout + r.stderr };
}

// ---------------------------------------------------------------------------------------------
// Dockerfile
// ---------------------------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  body: Instruction[];
}

function dockerfileStages(text: string): Stage[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const stages: Stage[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args)!;
      stages.push({ from: f[1]!, name: f[2], body: [] });
    } else if (stages.length > 0) stages[stages.length - 1]!.body.push({ op, args });
  }
  return stages;
}

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const stages = dockerfileStages(text);
  const build = stages.find((s) => s.name === 'build')!;
  const runtime = stages[stages.length - 1]!;

  it('is multi-stage: a build stage with npm ci, the build and a prune; a slim runtime stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build).toBeDefined();
    const runs = build.body.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    expect(runs).toMatch(/npm ci\b/);
    expect(runs).toMatch(/npm run build/);
    expect(runs).toMatch(/npm prune --omit=dev/);
    expect(text).toMatch(/ARG NODE_IMAGE=node:20[\w.-]*slim/);
    for (const s of stages) expect(s.from).toMatch(/NODE_IMAGE|node:20/);
    // The runtime takes the built output from the build stage, not a second build.
    const fromBuild = runtime.body.filter((i) => i.op === 'COPY' && i.args.startsWith('--from=build'));
    expect(fromBuild.map((i) => i.args.split(/\s+/)[1])).toEqual(
      expect.arrayContaining(['/src/node_modules', '/src/dist', '/src/package.json']),
    );
    expect(runtime.body.some((i) => i.op === 'RUN' && /npm (ci|install)/.test(i.args))).toBe(false);
  });

  it('runs as a non-root user, with a HEALTHCHECK and the agent as entrypoint', () => {
    const user = runtime.body.filter((i) => i.op === 'USER').pop();
    expect(user).toBeDefined();
    expect(user!.args).not.toMatch(/^(0|root)(:|$)/);
    const health = runtime.body.find((i) => i.op === 'HEALTHCHECK')!;
    expect(health.args).toMatch(/CMD .*healthcheck\.mjs/);
    expect(runtime.body.find((i) => i.op === 'ENTRYPOINT')!.args).toContain('netagent');
    expect(runtime.body.find((i) => i.op === 'CMD')!.args).toMatch(/"run".*"\/etc\/netagent\/netagent\.yaml"/);
  });

  it('installs no network tools: the agent reads /proc itself', () => {
    expect(text).not.toMatch(/apt-get install[^\n]*(iproute2|net-tools)/);
  });

  it('copies only paths that exist and that .dockerignore lets through', () => {
    const ignore = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const ignored = (p: string) => ignore.some((pat) => p === pat || p.startsWith(pat + '/') || (pat.startsWith('**/') && p.split('/').includes(pat.slice(3))));
    for (const stage of stages) {
      for (const i of stage.body.filter((x) => x.op === 'COPY' && !x.args.startsWith('--from'))) {
        const parts = i.args.split(/\s+/);
        for (const src of parts.slice(0, -1)) {
          expect(existsSync(join(ROOT, src)), `COPY ${src}`).toBe(true);
          expect(ignored(src.replace(/\/$/, '')), `COPY ${src} is excluded by .dockerignore`).toBe(false);
        }
      }
    }
    expect(ignored('node_modules')).toBe(true);
    expect(ignored('dist')).toBe(true);
  });

  it('copies every script the build runs before running it', () => {
    const buildScript = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.build!;
    const scripts = [...buildScript.matchAll(/node (scripts\/\S+)/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    const buildIdx = build.body.findIndex((i) => i.op === 'RUN' && i.args.includes('npm run build'));
    const copied = build.body.slice(0, buildIdx).filter((i) => i.op === 'COPY').flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const s of scripts) expect(copied.some((c) => s === c || s.startsWith(c.replace(/\/?$/, '/'))), s).toBe(true);
    // tsc's inputs too, and bin/, which scripts/code-cache.mjs runs.
    for (const need of ['src', 'plugins', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json', 'bin']) {
      expect(build.body.some((i) => i.op === 'COPY' && i.args.split(/\s+/).includes(need)), need).toBe(true);
    }
  });
});

describe('deploy/docker/healthcheck.mjs', () => {
  const script = join(ROOT, 'deploy/docker/healthcheck.mjs');
  const run = (file: string) => spawnSync('node', [script], { encoding: 'utf8', env: { ...process.env, NETAGENT_HEALTH_FILE: file, NETAGENT_HEALTH_MAX_AGE_S: '90' } });

  it('is healthy while agent.stats keeps arriving, unhealthy when it stops or never came', () => {
    const file = join(tmp, 'health.ndjson');
    writeFileSync(file, '{}\n');
    expect(run(file).status).toBe(0);
    const old = Date.now() / 1000 - 300;
    utimesSync(file, old, old);
    const stale = run(file);
    expect(stale.status).toBe(1);
    expect(stale.stderr).toMatch(/last written 30\ds ago/);
    expect(run(join(tmp, 'missing.ndjson')).status).toBe(1);
  });

  it('the file sink writing agent.stats in config/docker.yaml is where the image looks', () => {
    const cfg = parse(read('config/docker.yaml')) as { sinks: { type: string; datasets?: string[]; options: { path: string } }[]; agent: { stats_interval: string } };
    const health = cfg.sinks.find((s) => s.type === 'file' && s.datasets?.includes('agent.stats'))!;
    expect(health).toBeDefined();
    const env = /NETAGENT_HEALTH_FILE=(\S+)/.exec(read('Dockerfile'))![1];
    expect(health.options.path).toBe(env);
    const maxAge = Number(/NETAGENT_HEALTH_MAX_AGE_S=(\d+)/.exec(read('Dockerfile'))![1]);
    expect(maxAge).toBeGreaterThanOrEqual(2 * parseInt(cfg.agent.stats_interval, 10));
  });
});

// ---------------------------------------------------------------------------------------------
// docker-compose.yml and the agent config it mounts
// ---------------------------------------------------------------------------------------------

type Service = Record<string, any>;

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml')) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
  const s = compose.services;
  const env = (svc: Service): Record<string, string> => Object.fromEntries(Object.entries(svc.environment ?? {}).map(([k, v]) => [k, String(v)]));

  it('has the broker, Elasticsearch, Kibana, the bridge and the agent', () => {
    expect(Object.keys(s)).toEqual(expect.arrayContaining(['kafka', 'elasticsearch', 'kibana', 'logstash', 'agent', 'elk-setup']));
    expect(s.kafka!.image).toMatch(/^apache\/kafka:/);
    expect(s.elasticsearch!.image).toMatch(/elasticsearch/);
    expect(s.kibana!.image).toMatch(/kibana/);
    expect(s.logstash!.image).toMatch(/logstash/);
    expect(Object.keys(s).some((n) => /zookeeper/.test(n))).toBe(false);
  });

  it('Kafka runs in KRaft mode (broker and controller in one node)', () => {
    const e = env(s.kafka!);
    expect(e.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(e.KAFKA_CONTROLLER_QUORUM_VOTERS).toMatch(/^1@kafka:\d+$/);
    expect(e.KAFKA_LISTENERS).toContain('CONTROLLER://');
  });

  it('the agent is built here, reads the host /proc read-only, with its config mounted', () => {
    const a = s.agent!;
    expect(a.build).toBe('.');
    expect(a.pid).toBe('host');
    expect(a.network_mode).toBe('host');
    expect(a.volumes).toContain('/proc:/host/proc:ro');
    expect(a.volumes).toContain('./config/docker.yaml:/etc/netagent/netagent.yaml:ro');
    expect(a.cap_drop).toEqual(['ALL']);
    expect(a.cap_add).toEqual(['SYS_PTRACE', 'DAC_READ_SEARCH']);
    expect(a.read_only).toBe(true);
    expect(a.security_opt).toContain('no-new-privileges:true');
  });

  it('the agent reaches the broker where Kafka advertises it to the host', () => {
    const advertised = env(s.kafka!).KAFKA_ADVERTISED_LISTENERS!.split(',').map((l) => l.replace(/^\w+:\/\//, ''));
    const brokers = env(s.agent!).KAFKA_BROKERS!;
    expect(advertised).toContain(brokers);
    expect(s.kafka!.ports.some((p: string) => p.endsWith(`:${brokers.split(':')[1]}`))).toBe(true);
    // Logstash uses the in-network listener.
    expect(advertised).toContain(env(s.logstash!).KAFKA_BOOTSTRAP);
  });

  it('every bind mount exists, every dependency is a service, every named volume is declared', () => {
    for (const [name, svc] of Object.entries(s)) {
      for (const v of (svc.volumes ?? []) as string[]) {
        const src = v.split(':')[0]!;
        if (src.startsWith('./')) expect(existsSync(join(ROOT, src)), `${name}: ${src}`).toBe(true);
        else if (!src.startsWith('/')) expect(compose.volumes, `${name}: volume ${src}`).toHaveProperty(src);
      }
      for (const dep of Object.keys(svc.depends_on ?? {})) expect(s, `${name} depends on ${dep}`).toHaveProperty(dep);
    }
  });

  it('the mounted agent config validates and reads the host through /host/proc', () => {
    const text = read('config/docker.yaml');
    const r = validate(text);
    expect(r.status, r.out).toBe(0);
    const cfg = parse(text) as { agent: Record<string, string>; sinks: { type: string; options: Record<string, any> }[] };
    expect(cfg.agent.proc_root).toBe('/host/proc');
    expect(['host', 'all']).toContain(cfg.agent.netns);
    const kafka = cfg.sinks.find((x) => x.type === 'kafka')!;
    expect(kafka.options.brokers).toEqual(['${KAFKA_BROKERS:-127.0.0.1:29092}']);
    expect(kafka.options.spool.path.startsWith(cfg.agent.state_dir!)).toBe(true);
  });

  it('the Logstash pipeline consumes the topics the agent writes and the templates are mounted for setup', () => {
    const pipeline = read('config/elk/logstash/pipeline/netagent.conf');
    const pattern = new RegExp(`^${/topics_pattern => "([^"]+)"/.exec(pipeline)![1]!.replace(/\\\\/g, '\\')}$`);
    const cfg = parse(read('config/docker.yaml')) as { sinks: { type: string; options: { topic: string } }[] };
    const topic = cfg.sinks.find((x) => x.type === 'kafka')!.options.topic;
    for (const dataset of ['tcp.socket', 'iface.stats', 'snmp.counters', 'agent.stats']) {
      expect(topic.replace('{{event.dataset}}', dataset)).toMatch(pattern);
    }
    expect(pipeline).toMatch(/codec => json/);
    expect(pipeline).toMatch(/index => "netagent-/);
    const idx = JSON.parse(read('config/elk/index-template.json')) as { index_patterns: string[]; composed_of: string[] };
    expect(idx.index_patterns).toEqual(['netagent-*']);
    expect(idx.composed_of).toEqual(['netagent-mappings']);
    const setup = read('config/elk/setup.sh');
    expect(setup).toContain('_component_template/netagent-mappings');
    expect(setup).toContain('_index_template/netagent');
    expect(setup).toContain('kibana/netagent-dashboard.ndjson');
  });
});

// ---------------------------------------------------------------------------------------------
// systemd and Kubernetes
// ---------------------------------------------------------------------------------------------

function unitFile(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    const key = `${section}.${line.slice(0, eq)}`;
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

describe('deploy/systemd/netagent.service', () => {
  const text = read('deploy/systemd/netagent.service');
  const unit = unitFile(text);
  const one = (k: string) => unit.get(`Service.${k}`)?.at(-1);

  it('is hardened', () => {
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('ProtectHome')).toBe('yes');
    expect(one('PrivateTmp')).toBe('yes');
    expect(one('DynamicUser')).toBe('yes');
    expect(one('StateDirectory')).toBe('netagent');
    expect(one('CapabilityBoundingSet')!.split(/\s+/).sort()).toEqual(['CAP_DAC_READ_SEARCH', 'CAP_SYS_PTRACE']);
    expect(one('AmbientCapabilities')!.split(/\s+/).sort()).toEqual(['CAP_DAC_READ_SEARCH', 'CAP_SYS_PTRACE']);
    // Settings that would blind the agent must stay off.
    expect(one('PrivateNetwork') ?? 'no').toBe('no');
    expect(one('ProtectProc') ?? 'default').toBe('default');
    expect(one('ProcSubset') ?? 'all').toBe('all');
    expect(one('ExecStart')).toMatch(/netagent run -c \/etc\/netagent\/netagent\.yaml$/);
    expect(one('ExecReload')).toContain('-HUP');
  });

  it('passes systemd-analyze verify', () => {
    requireNetnsTools(['systemd-analyze']);
    const r = spawnSync('systemd-analyze', ['verify', join(ROOT, 'deploy/systemd/netagent.service')], { encoding: 'utf8' });
    // Only the ExecStart binaries may be missing on a machine where netagent is not installed.
    const problems = (r.stderr + r.stdout).split('\n').filter((l) => l.trim() && !/\/opt\/netagent|\/usr\/bin\/node|is not executable|No such file/.test(l));
    expect(problems).toEqual([]);
  });
});

describe('deploy/kubernetes/daemonset.yaml', () => {
  const docs = parseAllDocuments(read('deploy/kubernetes/daemonset.yaml')).map((d) => d.toJS() as Record<string, any>);
  const ds = docs.find((d) => d.kind === 'DaemonSet')!;
  const pod = ds.spec.template.spec;
  const c = pod.containers[0];

  it('runs on every node in the host PID namespace with /proc read-only and the two capabilities', () => {
    expect(pod.hostPID).toBe(true);
    expect(pod.hostNetwork).toBe(true);
    const procVol = pod.volumes.find((v: any) => v.hostPath?.path === '/proc');
    const mount = c.volumeMounts.find((m: any) => m.name === procVol.name);
    expect(mount).toMatchObject({ mountPath: '/host/proc', readOnly: true });
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['SYS_PTRACE', 'DAC_READ_SEARCH'] });
    expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(c.securityContext.privileged).toBe(false);
    expect(ds.spec.selector.matchLabels).toEqual(ds.spec.template.metadata.labels);
    expect(c.livenessProbe.exec.command.join(' ')).toContain('healthcheck.mjs');
  });

  it('its ConfigMap holds a config that validates', () => {
    const cm = docs.find((d) => d.kind === 'ConfigMap')!;
    const r = validate(cm.data['netagent.yaml'], { NODE_NAME: 'node-1', KAFKA_BROKERS: 'kafka:9092' });
    expect(r.status, r.out).toBe(0);
    const mount = c.volumeMounts.find((m: any) => m.name === 'config');
    expect(`${mount.mountPath}/netagent.yaml`).toBe(c.args[c.args.indexOf('-c') + 1]);
  });
});

// ---------------------------------------------------------------------------------------------
// The Elasticsearch template against real events
// ---------------------------------------------------------------------------------------------

interface Mapping {
  type?: string;
  properties?: Record<string, Mapping>;
  dynamic?: boolean | string;
}
interface DynamicTemplate {
  path_match?: string;
  match_mapping_type?: string;
  mapping: Mapping;
}

const component = JSON.parse(read('config/elk/component-template.json')) as {
  template: { mappings: { properties: Record<string, Mapping>; dynamic_templates: Record<string, DynamicTemplate>[] } };
};
const mappings = component.template.mappings;

type ValueKind = 'string' | 'long' | 'double' | 'boolean';
function kindOf(v: unknown): ValueKind {
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'long' : 'double';
  return 'string';
}

/** What Elasticsearch would map `path` to: an explicit property, else the first matching dynamic template. */
function mappingOf(path: string, value: unknown): { type: string; via: string } | null {
  let props: Record<string, Mapping> | undefined = mappings.properties;
  const parts = path.split('.');
  for (let i = 0; i < parts.length && props; i++) {
    const m: Mapping | undefined = props[parts[i]!];
    if (!m) break;
    if (i === parts.length - 1 && m.type && m.type !== 'object') return { type: m.type, via: 'property' };
    props = m.properties;
  }
  const esType = { string: 'string', long: 'long', double: 'double', boolean: 'boolean' }[kindOf(value)];
  for (const entry of mappings.dynamic_templates) {
    const [name, t] = Object.entries(entry)[0]!;
    if (t.match_mapping_type && t.match_mapping_type !== esType) continue;
    if (t.path_match && !new RegExp(`^${t.path_match.split('*').map(escapeRe).join('.*')}$`).test(path)) continue;
    if (!t.path_match && !t.match_mapping_type) continue;
    // The catch-all strings_as_keywords template is for user fields (exec), not for built-in ones.
    if (!t.path_match) return { type: t.mapping.type!, via: `dynamic:${name}:catch-all` };
    return { type: t.mapping.type!, via: `dynamic:${name}` };
  }
  return null;
}
const escapeRe = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

function compatible(type: string, value: unknown): boolean {
  switch (kindOf(value)) {
    case 'boolean':
      return type === 'boolean';
    case 'long':
      return ['long', 'unsigned_long', 'double', 'float', 'scaled_float'].includes(type);
    case 'double':
      return ['double', 'float', 'scaled_float', 'half_float'].includes(type);
    default: {
      const s = value as string;
      if (type === 'ip') return isIP(s) !== 0;
      if (type === 'date') return !Number.isNaN(Date.parse(s));
      return type === 'keyword' || type === 'wildcard';
    }
  }
}

function leaves(value: unknown, path: string, out: Map<string, unknown[]>): void {
  if (Array.isArray(value)) {
    if (value.length === 0 && !out.has(path)) out.set(path, []);
    for (const v of value) leaves(v, path, out);
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) leaves(v, path ? `${path}.${k}` : k, out);
  } else {
    const list = out.get(path) ?? [];
    if (list.length < 50) list.push(value);
    out.set(path, list);
  }
}

const ZOO = `
import os, signal, socket, sys
socks = []
def keep(s): socks.append(s); return s
l4 = keep(socket.socket(socket.AF_INET, socket.SOCK_STREAM)); l4.bind(("127.0.0.1", 0)); l4.listen(8)
l6 = keep(socket.socket(socket.AF_INET6, socket.SOCK_STREAM)); l6.bind(("::1", 0)); l6.listen(8)
c = keep(socket.create_connection(l4.getsockname())); keep(l4.accept()[0])
c6 = keep(socket.create_connection(l6.getsockname()[:2])); keep(l6.accept()[0])
c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
u = keep(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)); u.bind(("127.0.0.1", 0))
uc = keep(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)); uc.connect(u.getsockname())
ux = keep(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)); ux.bind("\\0netagent-deploy-test"); ux.listen(1)
ud = keep(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)); ud.bind(sys.argv[1])
g = keep(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
g.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("239.1.2.3") + socket.inet_aton("0.0.0.0"))
print("ready", flush=True)
signal.pause()
`;

describe('config/elk: the index template maps every field the collectors emit', () => {
  let net: TestNet;
  const fields = new Map<string, unknown[]>();
  const datasets = new Set<string>();

  beforeAll(async () => {
    requireNetnsTools(['ip', 'python3']);
    net = await createTestNet('naelk');
    writeFileSync(join(tmp, 'zoo.py'), ZOO);
    await net.ns.spawnReady('python3', [join(tmp, 'zoo.py'), join(tmp, 'zoo.sock')]);
    const config = join(tmp, 'elk.yaml');
    writeFileSync(
      config,
      `agent:\n  netns: all\n  interval: 1s\n  stats_interval: 1s\n  state_dir: ${tmp}/state\n` +
        'collectors:\n' +
        // A generous per-run timeout: on a busy host one cycle over every namespace may take more than the 1s interval.
        ['{type: tcp, options: {mode: both, processes: true}', '{type: udp, options: {mode: both, processes: true}', '{type: unix, options: {processes: true}',
          '{type: iface', '{type: route', '{type: igmp', '{type: snmp'].map((c) => `  - ${c}, timeout: 20s}\n`).join('') +
        'sinks:\n  - type: stdout\n',
    );
    // Two cycles at least, so counter datasets carry their change and rate fields, then SIGTERM
    // (which also writes a last agent.stats).
    const child = spawn('node', [BIN, 'run', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let carry = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (carry + chunk).split('\n');
      carry = lines.pop()!;
      for (const line of lines) {
        const e = JSON.parse(line) as { event: { dataset: string } };
        datasets.add(e.event.dataset);
        leaves(e, '', fields);
      }
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Until every counter dataset has had its second cycle (change and rate fields), or 20s.
    const until = Date.now() + 20_000;
    while (Date.now() < until && !(fields.has('interface.delta.rx.bytes') && fields.has('snmp.interval_ms') && datasets.has('agent.stats'))) {
      await new Promise((r) => setTimeout(r, 250));
    }
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    if (code !== 0) throw new Error(`netagent run exited ${code}: ${stderr}`);
  }, 60_000);

  afterAll(() => net?.ns.destroy());

  it('the run covered every built-in dataset and the namespace tags', () => {
    for (const d of ['tcp.socket', 'tcp.summary', 'udp.socket', 'udp.summary', 'unix.socket', 'iface.stats', 'route.entry', 'igmp.membership', 'snmp.counters', 'agent.stats']) {
      expect(datasets, d).toContain(d);
    }
    for (const p of ['netns.inode', 'process.pid', 'socket.timer.name', 'interface.delta.rx.bytes', 'interface.rate.rx.bytes', 'igmp.group', 'route.genmask']) {
      expect(fields.has(p), p).toBe(true);
    }
  });

  it('every field path is mapped explicitly or by a path template, with a compatible type', () => {
    const problems: string[] = [];
    for (const [path, values] of fields) {
      const sample = values[0] ?? 'x';
      const m = mappingOf(path, sample);
      if (!m) {
        problems.push(`${path}: not mapped (e.g. ${JSON.stringify(sample)})`);
        continue;
      }
      if (m.via.endsWith(':catch-all')) problems.push(`${path}: only the catch-all string template maps it; add it to the template`);
      for (const v of values) {
        const own = mappingOf(path, v)!;
        if (!compatible(own.type, v)) problems.push(`${path}: ${JSON.stringify(v)} does not fit ${own.type} (${own.via})`);
      }
      if (path.endsWith('.ip') && m.type !== 'ip') problems.push(`${path}: an address, mapped as ${m.type} instead of ip`);
    }
    expect(problems).toEqual([]);
  });

  it('the namespace and container fields that appear only on some hosts are mapped too', () => {
    for (const [path, v] of [['netns.inode', 1], ['netns.host', true], ['container.id', 'x'], ['container.runtime', 'docker'], ['kubernetes.pod.uid', 'x']] as const) {
      const m = mappingOf(path, v);
      expect(m && m.via === 'property' && compatible(m.type, v), path).toBe(true);
    }
  });

  it('the dashboard uses only mapped, aggregatable fields and resolves its references', () => {
    const objects = read('config/elk/kibana/netagent-dashboard.ndjson').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const ids = new Set(objects.map((o) => `${o.type}:${o.id}`));
    const dashboard = objects.find((o) => o.type === 'dashboard')!;
    expect(dashboard.references).toHaveLength(4);
    for (const o of objects) for (const r of o.references) expect(ids, `${o.id} → ${r.type}:${r.id}`).toContain(`${r.type}:${r.id}`);
    const panels = JSON.parse(dashboard.attributes.panelsJSON) as { panelRefName: string }[];
    expect(panels.map((p) => p.panelRefName).sort()).toEqual(dashboard.references.map((r: { name: string }) => r.name).sort());
    const titles = objects.filter((o) => o.type === 'visualization').map((o) => o.attributes.title as string);
    expect(titles.join('|')).toMatch(/per state/);
    expect(titles.join('|')).toMatch(/listening ports/);
    expect(titles.join('|')).toMatch(/interface errors/);
    expect(titles.join('|')).toMatch(/retransmits/);
    for (const o of objects.filter((x) => x.type === 'visualization')) {
      const vis = JSON.parse(o.attributes.visState) as { aggs: { params: { field?: string } }[] };
      for (const agg of vis.aggs) {
        const field = agg.params.field;
        if (!field) continue;
        const sampleValue = field === '@timestamp' ? new Date().toISOString() : field.includes('.delta.') || field.endsWith('port') || field.endsWith('inode') ? 1 : 'x';
        const m = mappingOf(field, sampleValue);
        expect(m && m.via !== 'catch-all' && ['keyword', 'long', 'double', 'ip', 'date', 'boolean'].includes(m.type), `${o.id}: ${field}`).toBe(true);
      }
      // The fields it draws are ones the collectors really emit.
      for (const agg of vis.aggs) {
        const field = agg.params.field;
        if (field && field !== '@timestamp') expect(fields.has(field), `${o.id}: ${field} is never emitted`).toBe(true);
      }
    }
  });
});

// Keep the CLI honest about the image's entry point.
describe('the image entry point', () => {
  it('bin/netagent is what the Dockerfile links and runs', () => {
    expect(read('Dockerfile')).toMatch(/ln -s \/opt\/netagent\/bin\/netagent \/usr\/local\/bin\/netagent/);
    expect(execFileSync('node', [BIN, 'validate', '-c', join(ROOT, 'config/docker.yaml')], { encoding: 'utf8' })).toMatch(/OK/);
  });
});
