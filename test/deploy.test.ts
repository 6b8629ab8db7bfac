/**
 * The deployment files, checked structurally (Docker, Kubernetes and a systemd PID 1 are not on the
 * test machines), and the Elasticsearch template checked against what the collectors really emit:
 * `netagent run` with every built-in /proc collector over every namespace, one of them made here with
 * sockets in many states, routes and multicast groups; every field path of every event must be
 * mapped with a compatible type, so the template cannot drift from the collectors.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { dataStreamDataset, dataStreamType } from '../plugins/sinks/elasticsearch/bulk.js';
import { elasticsearchOptions } from '../plugins/sinks/elasticsearch/index.js';
import { TCP_STATES } from '../src/collect/inet-states.js';
import { createTestNet, type TestNet } from './helpers/host-testnet.js';
import { requireConntrack, requireNetnsTools } from './helpers/netns.js';
import { declaredBy, declaredLeaves, mappedLeaves, wildcard, type Mapping } from './helpers/es-templates.js';
import { deleteMatching, ensureOpenSearch, OPENSEARCH_URL, osRequest } from './helpers/opensearch.js';

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
    expect(Object.keys(s)).toEqual(expect.arrayContaining(['kafka', 'elasticsearch', 'kibana', 'logstash', 'agent', 'es-setup', 'kibana-setup']));
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

  it('the Logstash pipeline consumes the topics the agent writes', () => {
    const pipeline = read('config/elk/logstash/pipeline/netagent.conf');
    const pattern = new RegExp(`^${/topics_pattern => "([^"]+)"/.exec(pipeline)![1]!.replace(/\\\\/g, '\\')}$`);
    const cfg = parse(read('config/docker.yaml')) as { sinks: { type: string; options: { topic: string } }[] };
    const topic = cfg.sinks.find((x) => x.type === 'kafka')!.options.topic;
    for (const dataset of ['tcp.socket', 'iface.stats', 'snmp.counters', 'agent.stats']) {
      expect(topic.replace('{{event.dataset}}', dataset)).toMatch(pattern);
    }
    expect(pipeline).toMatch(/codec => json/);
  });

  it('Logstash writes into the data streams of the direct road, with its document ids: each event is stored once', () => {
    const pipeline = read('config/elk/logstash/pipeline/netagent.conf');
    const cfg = parse(read('config/docker.yaml')) as { sinks: { type: string; options: Record<string, any> }[] };
    const direct = cfg.sinks.find((x) => x.type === 'elasticsearch')!;
    expect(direct).toBeDefined();
    // The pipeline's filter, replayed: type by event.kind, dataset netagent.<event.dataset>, lower-cased, then its gsub.
    const gsub = /gsub => \["\[data_stream\]\[dataset\]", "([^"]+)", "([^"]*)"\]/.exec(pipeline)!;
    const namespace = /"\[data_stream\]\[namespace\]" => "\$\{NETAGENT_NAMESPACE:([^}]+)\}"/.exec(pipeline)![1];
    expect(namespace).toBe(direct.options.data_stream?.namespace ?? 'default');
    expect(pipeline).toMatch(/if \[event\]\[kind\] == "metric" \{\s*mutate \{ add_field => \{ "\[data_stream\]\[type\]" => "metrics" \} \}\s*\} else \{\s*mutate \{ add_field => \{ "\[data_stream\]\[type\]" => "logs" \} \}/);
    for (const [dataset, kind] of [['tcp.socket', 'state'], ['iface.stats', 'metric'], ['agent.stats', 'metric'], ['Their-Plugin.x', 'state']]) {
      const logstash = `${kind === 'metric' ? 'metrics' : 'logs'}-${`netagent.${dataset}`.toLowerCase().replace(new RegExp(gsub[1]!, 'g'), gsub[2]!)}-${namespace}`;
      expect(logstash).toBe(`${dataStreamType(kind)}-${dataStreamDataset(dataset!)}-${namespace}`);
    }
    expect(pipeline).toContain('index => "%{[data_stream][type]}-%{[data_stream][dataset]}-%{[data_stream][namespace]}"');
    expect(pipeline).toContain('action => "create"');
    const sinkId = elasticsearchOptions.properties.document_id.default as string;
    expect(/document_id => "([^"]+)"/.exec(pipeline)![1]).toBe(sinkId.replace(/\{\{([^}]+)\}\}/g, (_, p: string) => `%{${p.split('.').map((k) => `[${k}]`).join('')}}`));
    // The templates cover those names.
    const streams = JSON.parse(read('plugins/sinks/elasticsearch/templates/netagent-data-streams.json')) as { index_patterns: string[] };
    expect(streams.index_patterns.some((p) => new RegExp(`^${p.replace(/\./g, '\\.').replace(/\*/g, '.*')}$`).test('metrics-netagent.iface.stats-default'))).toBe(true);
  });

  it('es-setup runs netagent setup elasticsearch with the agent\'s config before anyone writes; kibana-setup imports the dashboard', () => {
    const es = s['es-setup']!;
    expect(es.image).toBe(s.agent!.image);
    expect(es.command).toEqual(['setup', 'elasticsearch', '-c', '/etc/netagent/netagent.yaml']);
    expect(es.volumes).toContain('./config/docker.yaml:/etc/netagent/netagent.yaml:ro');
    expect(es.network_mode).toBe('host');
    expect(es.depends_on.elasticsearch.condition).toBe('service_healthy');
    for (const writer of ['agent', 'logstash', 'kibana-setup']) expect(s[writer]!.depends_on['es-setup'], writer).toEqual({ condition: 'service_completed_successfully' });
    // The direct road reaches Elasticsearch where compose publishes it to the host.
    const published = (s.elasticsearch!.ports as string[]).map((p) => p.split(':').slice(0, 2).join(':'));
    expect(published).toContain(new URL(env(s.agent!).ELASTICSEARCH_HOSTS!).host);
    expect(read('config/elk/setup.sh')).toContain('kibana/netagent-dashboard.ndjson');
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
// The Elasticsearch templates against real events, on a real node
// ---------------------------------------------------------------------------------------------

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
l6 = keep(socket.socket(socket.AF_INET6, socket.SOCK_STREAM)); l6.bind(("::", 0)); l6.listen(8)
c = keep(socket.create_connection(l4.getsockname())); keep(l4.accept()[0])
c6 = keep(socket.create_connection(("::1", l6.getsockname()[1]))); keep(l6.accept()[0])
cm = keep(socket.create_connection(("127.0.0.1", l6.getsockname()[1]))); keep(l6.accept()[0])
c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
for _ in range(3):
    tw = socket.create_connection(l4.getsockname()); l4.accept()[0].close(); tw.close()
u = keep(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)); u.bind(("127.0.0.1", 0))
uc = keep(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)); uc.connect(u.getsockname())
ux = keep(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)); ux.bind("\\0netagent-deploy-test"); ux.listen(1)
ud = keep(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)); ud.bind(sys.argv[1])
un = keep(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
g = keep(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
g.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("239.1.2.3") + socket.inet_aton("0.0.0.0"))
print("ready", flush=True)
signal.pause()
`;

/** An exec command's line: a user field, and a string where ECS has an object (moved under exec.). */
const EXEC_LINE = '{"probe":{"ok":true,"latency_ms":1.5,"target":"db-1"},"source":"probe-1"}';

describe('the elasticsearch templates, real events of every built-in collector, a real OpenSearch node', () => {
  let net: TestNet;
  const lines: string[] = [];
  const fields = new Map<string, unknown[]>();
  const datasets = new Map<string, number>();
  // This run's own data streams: logs-netagent.<dataset>-<namespace>.
  const namespace = `deploy${Math.random().toString(36).slice(2, 8)}`;
  const setupConfig = join(tmp, 'setup.yaml');
  const setup = () => spawnSync('node', [BIN, 'setup', 'elasticsearch', '-c', setupConfig], { encoding: 'utf8' });

  beforeAll(async () => {
    requireNetnsTools(['ip', 'python3']);
    requireConntrack();
    ensureOpenSearch();
    writeFileSync(setupConfig, `sinks:\n  - type: elasticsearch\n    options: {hosts: ["${OPENSEARCH_URL}"]}\n`);
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
          '{type: iface', '{type: route', '{type: igmp', '{type: snmp', '{type: softnet', '{type: conntrack, options: {entries: list}',
          '{type: raw, options: {mode: both}', '{type: udplite, options: {mode: both}',
          `{type: exec, options: {command: [echo, '${EXEC_LINE}'], dataset: custom.probe}`].map((c) => `  - ${c}, timeout: 20s}\n`).join('') +
        'sinks:\n  - type: stdout\n',
    );
    // Two cycles at least, so counter datasets carry their change and rate fields, then SIGTERM
    // (which also writes a last agent.stats).
    const child = spawn('node', [BIN, 'run', '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let carry = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const got = (carry + chunk).split('\n');
      carry = got.pop()!;
      for (const line of got) {
        const e = JSON.parse(line) as { event: { dataset: string } };
        lines.push(line);
        datasets.set(e.event.dataset, (datasets.get(e.event.dataset) ?? 0) + 1);
        leaves(e, '', fields);
      }
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Until every counter dataset has had its second cycle (change and rate fields), or 20s.
    const until = Date.now() + 20_000;
    while (
      Date.now() < until &&
      !(fields.has('interface.delta.rx.bytes') && fields.has('snmp.interval_ms') && fields.has('softnet.interval_ms') && fields.has('conntrack.interval_ms') && datasets.has('agent.stats'))
    ) {
      await new Promise((r) => setTimeout(r, 250));
    }
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    if (code !== 0) throw new Error(`netagent run exited ${code}: ${stderr}`);
  }, 120_000);

  afterAll(async () => {
    net?.ns.destroy();
    await deleteMatching(`*-netagent.*-${namespace}`);
  });

  it('the run covered every built-in dataset, the namespace tags and the change fields', () => {
    for (const d of ['tcp.socket', 'tcp.summary', 'udp.socket', 'udp.summary', 'unix.socket', 'iface.stats', 'route.entry', 'igmp.membership',
      'snmp.counters', 'sockstat.totals', 'agent.stats', 'custom.probe', 'softnet.stats', 'conntrack.stats', 'raw.summary', 'udplite.summary']) {
      expect(datasets.has(d), d).toBe(true);
    }
    for (const p of ['netns.inode', 'process.pid', 'socket.timer.name', 'interface.delta.rx.bytes', 'interface.rate.rx.bytes', 'igmp.group', 'route.genmask',
      'socket.families.ipv6.ESTABLISHED', 'sockstat.tcp.inuse', 'exec.source', 'probe.latency_ms', 'softnet.delta.processed',
      'conntrack.stats.found', 'conntrack.delta.found', 'interface.addresses.prefix_length']) {
      expect(fields.has(p), p).toBe(true);
    }
  });

  it('netagent setup elasticsearch installs the templates, says why no lifecycle policy; run again, it changes nothing', async () => {
    // From scratch: nothing of netagent's on the node (data streams hold their templates).
    await deleteMatching('logs-netagent.*');
    await deleteMatching('metrics-netagent.*');
    await deleteMatching('netagent-*');
    for (const path of ['_index_template/netagent-data-streams', '_index_template/netagent', '_component_template/netagent-mappings', '_component_template/netagent-settings']) {
      const r = await osRequest('DELETE', `/${path}`);
      expect([200, 404], `${path}: ${JSON.stringify(r.body)}`).toContain(r.status);
    }
    const first = setup();
    expect(first.status, first.stdout + first.stderr).toBe(0);
    for (const t of ['component template netagent-settings', 'component template netagent-mappings', 'index template netagent-data-streams', 'index template netagent']) {
      expect(first.stdout).toMatch(new RegExp(`created\\s+${t}\\b`));
    }
    // This node (the integ-test distribution) has no ISM plugin: said, not hidden.
    expect(first.stdout).toMatch(/skipped\s+lifecycle .*no index-management plugin \(ISM\)/);
    const second = setup();
    expect(second.status, second.stderr).toBe(0);
    const actions = second.stdout.split('\n').slice(1).filter(Boolean).map((l) => l.trim().split(/\s+/)[0]);
    expect(actions.sort()).toEqual(['skipped', 'unchanged', 'unchanged', 'unchanged', 'unchanged']);
  });

  it('every event is indexed into its data stream, none rejected, each dataset counted as the file says', async () => {
    const body = lines.map((line) => {
      const e = JSON.parse(line) as { event: { dataset: string; kind: string; sequence: number }; agent: { ephemeral_id: string } };
      const stream = { type: dataStreamType(e.event.kind), dataset: dataStreamDataset(e.event.dataset), namespace };
      const action = { create: { _index: `${stream.type}-${stream.dataset}-${namespace}`, _id: `${e.agent.ephemeral_id}-${e.event.sequence}` } };
      return `${JSON.stringify(action)}\n${JSON.stringify({ data_stream: stream, ...e })}\n`;
    });
    // In requests of 5000 documents: one request for a busy host's run could pass the node's 100 MB limit.
    const rejected: string[] = [];
    for (let i = 0; i < body.length; i += 5000) {
      const r = await osRequest('POST', `/_bulk${i + 5000 >= body.length ? '?refresh=true' : ''}`, body.slice(i, i + 5000).join(''));
      expect(r.status).toBe(200);
      for (const item of r.body.items as Record<string, { status: number; error?: { reason: string } }>[]) {
        const result = Object.values(item)[0]!;
        if (result.status !== 201) rejected.push(`${result.status} ${result.error?.reason}`);
      }
    }
    expect(rejected).toEqual([]);
    for (const [dataset, count] of datasets) {
      const kinds = new Set(lines.filter((l) => l.includes(`"dataset":"${dataset}"`)).map((l) => (JSON.parse(l) as { event: { kind: string } }).event.kind));
      expect(kinds.size, dataset).toBe(1);
      const stream = `${dataStreamType([...kinds][0])}-${dataStreamDataset(dataset)}-${namespace}`;
      const n = await osRequest('GET', `/${stream}/_count`);
      expect(n.body.count, stream).toBe(count);
    }
  });

  it('the live mapping of every built-in data stream holds only fields the templates declare, typed as declared', async () => {
    const live = await osRequest('GET', `/*-netagent.*-${namespace}/_mapping`);
    expect(live.status).toBe(200);
    const problems: string[] = [];
    let checked = 0;
    for (const [index, m] of Object.entries(live.body as Record<string, { mappings: { properties: Record<string, Mapping> } }>)) {
      // exec's fields are the command's: the typed catch-alls map them, by design.
      if (index.includes('netagent.custom.probe')) continue;
      for (const [path, type] of mappedLeaves(m.mappings.properties)) {
        checked++;
        if (!declaredBy(path, type)) problems.push(`${index}: ${path} (${type}) is not declared by the templates`);
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(problems).toEqual([]);
    // Counters beyond 2^63 - 1 fit: iface and snmp counters are unsigned_long, live.
    const iface = Object.entries(live.body).find(([i]) => i.includes('netagent.iface.stats'))![1] as { mappings: { properties: Record<string, Mapping> } };
    expect(mappedLeaves(iface.mappings.properties).get('interface.rx.bytes')).toBe('unsigned_long');
    const exec = Object.entries(live.body).find(([i]) => i.includes('netagent.custom.probe'))![1] as { mappings: { properties: Record<string, Mapping> } };
    expect(Object.fromEntries(mappedLeaves(exec.mappings.properties))).toMatchObject({
      'probe.ok': 'boolean', 'probe.latency_ms': 'double', 'probe.target': 'keyword', 'exec.source': 'keyword',
    });
  });

  it('the namespace and container fields that appear only on some hosts are declared too', () => {
    for (const [path, type] of [['netns.inode', 'long'], ['netns.host', 'boolean'], ['container.id', 'keyword'], ['container.runtime', 'keyword'], ['kubernetes.pod.uid', 'keyword']]) {
      expect(declaredLeaves.get(path!), path).toBe(type);
    }
  });

  it('the dashboard draws fields the node maps as aggregatable, and counts TCP states from tcp.summary as the file says', async () => {
    const objects = read('config/elk/kibana/netagent-dashboard.ndjson').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const ids = new Set(objects.map((o) => `${o.type}:${o.id}`));
    const dashboard = objects.find((o) => o.type === 'dashboard')!;
    expect(dashboard.references).toHaveLength(4);
    for (const o of objects) for (const r of o.references) expect(ids, `${o.id} → ${r.type}:${r.id}`).toContain(`${r.type}:${r.id}`);
    const panels = JSON.parse(dashboard.attributes.panelsJSON) as { panelRefName: string }[];
    expect(panels.map((p) => p.panelRefName).sort()).toEqual(dashboard.references.map((r: { name: string }) => r.name).sort());
    const pattern = objects.find((o) => o.type === 'index-pattern')!.attributes.title as string;
    for (const stream of ['logs-netagent.tcp.socket-default', 'metrics-netagent.tcp.summary-default', 'netagent-2026.01.01']) {
      expect(pattern.split(',').some((p) => wildcard(p).test(stream)), stream).toBe(true);
    }
    const live = await osRequest('GET', `/*-netagent.*-${namespace}/_mapping`);
    const liveTypes = new Map<string, string>();
    for (const m of Object.values(live.body as Record<string, { mappings: { properties: Record<string, Mapping> } }>)) {
      for (const [p, t] of mappedLeaves(m.mappings.properties)) liveTypes.set(p, t);
    }
    const fieldsOf = (agg: { params: Record<string, any> }): string[] =>
      [agg.params.field, agg.params.customBucket?.params.field, agg.params.customMetric?.params.field].filter(Boolean);
    for (const o of objects.filter((x) => x.type === 'visualization')) {
      const vis = JSON.parse(o.attributes.visState) as { aggs: { params: Record<string, any> }[] };
      for (const field of vis.aggs.flatMap(fieldsOf)) {
        expect(['keyword', 'long', 'unsigned_long', 'double', 'ip', 'date', 'boolean'], `${o.id}: ${field}`).toContain(liveTypes.get(field));
      }
    }

    // "TCP connections per state", as Kibana asks the node: per time bucket and state, each host's
    // average over its summaries in the bucket, summed over hosts; only the hosts' own namespaces.
    const states = objects.find((o) => o.id === 'netagent-tcp-states')!;
    const query = JSON.parse(states.attributes.kibanaSavedObjectMeta.searchSourceJSON).query.query as string;
    // The panel's KQL, as the query DSL Kibana sends (this test's translation: update both together).
    expect(query).toBe('event.dataset : "tcp.summary" and (netns.host : true or not netns.inode : *)');
    const filter = {
      bool: {
        filter: [
          { match_phrase: { 'event.dataset': 'tcp.summary' } },
          { bool: { should: [{ match: { 'netns.host': true } }, { bool: { must_not: { exists: { field: 'netns.inode' } } } }], minimum_should_match: 1 } },
        ],
      },
    };
    const vis = JSON.parse(states.attributes.visState) as { aggs: { id: string; type: string; params: Record<string, any> }[] };
    const metrics = vis.aggs.filter((a) => a.type === 'sum_bucket');
    expect(metrics.map((m) => m.params.customMetric.params.field).sort()).toEqual(TCP_STATES.map((s) => `socket.states.${s}`).sort());
    const perBucket: Record<string, unknown> = {};
    for (const m of metrics) {
      expect([m.params.customBucket.type, m.params.customMetric.type]).toEqual(['terms', 'avg']);
      perBucket[`${m.id}-bucket`] = {
        terms: { field: m.params.customBucket.params.field, size: m.params.customBucket.params.size },
        aggs: { [`${m.id}-metric`]: { avg: { field: m.params.customMetric.params.field } } },
      };
      perBucket[m.id] = { sum_bucket: { buckets_path: `${m.id}-bucket>${m.id}-metric` } };
    }
    const histogram = vis.aggs.find((a) => a.type === 'date_histogram')!;
    const r = await osRequest('POST', `/metrics-netagent.tcp.summary-${namespace}/_search`, {
      size: 0,
      query: filter,
      aggs: { h: { date_histogram: { field: histogram.params.field, fixed_interval: '1s' }, aggs: perBucket } },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // The same from the file.
    const want = new Map<number, Map<string, Map<string, number[]>>>(); // bucket → state → host → values
    for (const line of lines) {
      const e = JSON.parse(line) as Record<string, any>;
      if (e.event.dataset !== 'tcp.summary' || !(e.netns?.host === true || e.netns?.inode === undefined)) continue;
      const bucket = Math.floor(Date.parse(e['@timestamp']) / 1000) * 1000;
      for (const s of TCP_STATES) {
        const byHost = (want.get(bucket) ?? want.set(bucket, new Map()).get(bucket)!);
        const values = byHost.get(s) ?? byHost.set(s, new Map()).get(s)!;
        (values.get(e.host.name) ?? values.set(e.host.name, []).get(e.host.name)!).push(e.socket.states[s]);
      }
    }
    const buckets = (r.body.aggregations.h.buckets as Record<string, any>[]).filter((b) => b.doc_count > 0);
    expect(buckets.map((b) => b.key)).toEqual([...want.keys()].sort((a, b) => a - b));
    for (const b of buckets) {
      for (const m of metrics) {
        const state = (m.params.customMetric.params.field as string).slice('socket.states.'.length);
        const hosts = want.get(b.key)!.get(state)!;
        const expected = [...hosts.values()].reduce((sum, v) => sum + v.reduce((x, y) => x + y, 0) / v.length, 0);
        expect(b[m.id].value, `${new Date(b.key).toISOString()} ${state}`).toBeCloseTo(expected, 6);
      }
    }
    // In the zoo's namespace, which holds three TIME_WAIT sockets: the summaries count them all,
    // where distinct inodes of the socket rows count one (every TIME_WAIT socket has inode 0).
    const zooNetns = Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${net.pid}/ns/net`))![1]);
    const zooEvents = lines.map((l) => JSON.parse(l) as Record<string, any>).filter((e) => e.netns?.inode === zooNetns);
    const timeWait = zooEvents.filter((e) => e.event.dataset === 'tcp.socket' && e.socket.state === 'TIME_WAIT');
    expect(new Set(timeWait.map((e) => e.socket.inode))).toEqual(new Set([0]));
    const summaries = zooEvents.filter((e) => e.event.dataset === 'tcp.summary');
    expect(summaries.length).toBeGreaterThan(0);
    for (const e of summaries) expect(e.socket.states.TIME_WAIT).toBeGreaterThanOrEqual(3);
  });
});

// Keep the CLI honest about the image's entry point.
describe('the image entry point', () => {
  it('bin/netagent is what the Dockerfile links and runs', () => {
    expect(read('Dockerfile')).toMatch(/ln -s \/opt\/netagent\/bin\/netagent \/usr\/local\/bin\/netagent/);
    expect(execFileSync('node', [BIN, 'validate', '-c', join(ROOT, 'config/docker.yaml')], { encoding: 'utf8' })).toMatch(/OK/);
  });
});
