// Makes dist/bundle/main.cjs.cache, the V8 code cache bin/netagent compiles the CLI with: one
// warm-up `netagent once` over this machine's /proc, with every built-in collector and the socket
// collectors in both modes, events to /dev/null, so that the cache holds the functions such a run
// compiles. The cache fits the Node (V8) that made it; under another one V8 rejects it and the CLI
// compiles as it would without. A failed warm-up leaves no cache and does not fail the build.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const bin = resolve('bin/netagent');
const cacheFile = resolve('dist/bundle/main.cjs.cache');
const work = mkdtempSync(join(tmpdir(), 'netagent-code-cache-'));
const config = join(work, 'warm-up.yaml');
writeFileSync(
  config,
  `agent: {state_dir: ${JSON.stringify(join(work, 'state'))}, stats_interval: 0s}
collectors:
  - {type: tcp, id: tcp-sockets, options: {mode: sockets}}
  - {type: tcp, id: tcp-summary, options: {mode: summary}}
  - {type: udp, options: {mode: both}}
  - {type: unix}
  - {type: iface}
  - {type: route}
  - {type: snmp}
  - {type: igmp}
sinks:
  - {type: stdout}
`,
);
rmSync(cacheFile, { force: true });
const run = spawnSync(process.execPath, [bin, 'once', '-c', config, '--log-level', 'error'], {
  stdio: ['ignore', openSync('/dev/null', 'w'), 'pipe'],
  env: { ...process.env, NETAGENT_WRITE_CODE_CACHE: '1' },
  encoding: 'utf8',
  timeout: 60_000,
});
rmSync(work, { recursive: true, force: true });
if (run.status !== 0) {
  rmSync(cacheFile, { force: true });
  process.stderr.write(`code-cache: warm-up run failed (${run.status ?? run.signal}); netagent will start without a code cache\n${run.stderr}`);
}
