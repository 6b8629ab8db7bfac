// `npm run bench`: every benchmark, one after the other (they share two cores, so never in parallel).
// Each creates its own load (sockets in a network namespace, a local Kafka broker) and prints its
// figures with the reference tools measured in the same run. Needs root; the Kafka part needs Java.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const only = process.argv.slice(2);
const benches = [
  ['sockets', 'sockets.mjs'],
  ['kafka', 'kafka.mjs'],
  ['elasticsearch', 'elasticsearch.mjs'],
].filter(([name]) => only.length === 0 || only.includes(name));

let failed = 0;
for (const [name, file] of benches) {
  console.log(`\n=== ${name} ===`);
  const r = spawnSync(process.execPath, [fileURLToPath(new URL(file, import.meta.url))], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`${name}: exited with ${r.status ?? r.signal}`);
  }
}
process.exit(failed ? 1 : 0);
