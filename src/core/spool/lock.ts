/**
 * One user per spool directory. The file `lock` holds the owner's pid; a lock whose process is
 * gone is stale and taken over. Within one process a pid says nothing (two sinks of one agent
 * configured on one path would both find their own pid), so the directories this process holds
 * are also kept here: a second sink on the same directory is refused instead of both delivering
 * each other's records.
 */
import { promises as fsp, realpathSync } from 'node:fs';
import * as path from 'node:path';

const heldHere = new Set<string>();

export class SpoolInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpoolInUseError';
  }
}

/** Takes the lock of `dir` (which exists); resolves to its release. */
export async function lockSpoolDir(dir: string, mode: number): Promise<() => Promise<void>> {
  const real = realpathSync(dir);
  if (heldHere.has(real)) throw new SpoolInUseError(`spool ${dir} is already used by another sink of this agent: give each sink its own spool.path`);
  const file = path.join(dir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fsp.writeFile(file, String(process.pid), { flag: 'wx', mode });
      heldHere.add(real);
      return async () => {
        heldHere.delete(real);
        await fsp.rm(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(await fsp.readFile(file, 'utf8').catch(() => ''));
      if (pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new SpoolInUseError(`spool ${dir} is in use by process ${pid}`);
      }
      await fsp.rm(file, { force: true }); // stale: its owner died, or was an earlier instance in this process
    }
  }
  throw new SpoolInUseError(`cannot lock spool ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
