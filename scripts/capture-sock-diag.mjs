#!/usr/bin/env node
// Captures the sock_diag dumps of the network namespace a process lives in, beside what /proc and
// the tools show for the same moment: the test data of the netlink parser (src/collect/inet-diag.test.ts).
//
//   node scripts/capture-sock-diag.mjs PID OUTDIR      (as root, after `npm run build`)
//
// Writes OUTDIR/{tcp,tcp6,udp,udp6}.bin (the received messages, TCP with TCP_INFO and the
// congestion name), OUTDIR/self/net/{tcp,tcp6,udp,udp6} (read right after each dump),
// OUTDIR/ss-tainH.txt, OUTDIR/ss-tlnH.txt and OUTDIR/netstat-tanuW.txt (run inside the namespace).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SockDiag } from '../dist/src/core/sock-diag.js';
import { AF_INET, AF_INET6, ALL_STATES, EXT_CONG, EXT_INFO, IPPROTO_TCP, IPPROTO_UDP, inetDiagRequest } from '../dist/src/collect/inet-diag.js';

const [pid, out] = process.argv.slice(2);
if (!pid || !out) {
  console.error('usage: node scripts/capture-sock-diag.mjs PID OUTDIR');
  process.exit(2);
}
mkdirSync(join(out, 'self', 'net'), { recursive: true });
const diag = SockDiag.load();
const socket = diag.openIn('/proc', { pid, fields: {} });
if (!socket) throw new Error(`no /proc/${pid}/ns/net`);
const tables = [
  ['tcp', AF_INET, IPPROTO_TCP],
  ['tcp6', AF_INET6, IPPROTO_TCP],
  ['udp', AF_INET, IPPROTO_UDP],
  ['udp6', AF_INET6, IPPROTO_UDP],
];
for (const [name, family, protocol] of tables) {
  const ext = protocol === IPPROTO_TCP ? EXT_INFO | EXT_CONG : 0;
  const parts = [];
  for await (const chunk of socket.dump(inetDiagRequest(family, protocol, ALL_STATES, ext, diag.nextSeq()))) parts.push(Buffer.from(chunk));
  writeFileSync(join(out, `${name}.bin`), Buffer.concat(parts));
  writeFileSync(join(out, 'self', 'net', name), readFileSync(`/proc/${pid}/net/${name}`));
}
socket.close();
diag.close();
const inNs = (cmd, args) => execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, cmd, ...args], { encoding: 'utf8' });
writeFileSync(join(out, 'ss-tainH.txt'), inNs('ss', ['-tainH']));
writeFileSync(join(out, 'ss-tlnH.txt'), inNs('ss', ['-tlnH']));
writeFileSync(join(out, 'netstat-tanuW.txt'), inNs('netstat', ['-tanuW']));
