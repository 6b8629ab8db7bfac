/** SocketOwners over a fake proc root: fd symlinks `socket:[N]`, comm files, pids coming and going. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SocketOwners } from './process-sockets.js';
import { parsePasswd, UserNames } from './users.js';

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

function proc(pid: number, comm: string, fds: Record<number, string>): void {
  mkdirSync(join(root, String(pid), 'fd'), { recursive: true });
  writeFileSync(join(root, String(pid), 'comm'), `${comm}\n`);
  for (const [fd, target] of Object.entries(fds)) symlinkSync(target, join(root, String(pid), 'fd', fd));
}

describe('SocketOwners', () => {
  it('maps inodes to the lowest pid, caches, rescans once on a miss, remembers ownerless sockets', async () => {
    root = mkdtempSync(join(tmpdir(), 'owners-'));
    mkdirSync(join(root, 'net'));
    proc(300, 'nginx', { 0: '/dev/null', 3: 'socket:[1001]', 4: 'socket:[1002]', 5: 'pipe:[77]' });
    proc(200, 'nginx-master', { 3: 'socket:[1001]' }); // shared: lowest pid wins
    const warn: unknown[] = [];
    const owners = new SocketOwners(root, { warn: (...a: unknown[]) => warn.push(a) } as never);

    await owners.beginCycle();
    expect(owners.fullScans).toBe(1);
    expect(owners.get(1001)).toEqual({ pid: 200, name: 'nginx-master' });
    expect(owners.get(1002)).toEqual({ pid: 300, name: 'nginx' });
    expect(owners.get(77)).toBeUndefined();
    owners.endCycle();

    // A new process is scanned on its own; nothing else is.
    proc(400, 'sshd', { 7: 'socket:[2001]' });
    const scansBefore = owners.pidScans;
    await owners.beginCycle();
    expect(owners.pidScans - scansBefore).toBe(1);
    expect(owners.get(2001)).toEqual({ pid: 400, name: 'sshd' });
    expect(owners.fullScans).toBe(1);

    // A known process opens a socket at a reused fd number: a miss asks for one full rescan.
    unlinkSync(join(root, '300', 'fd', '4'));
    symlinkSync('socket:[1003]', join(root, '300', 'fd', '4'));
    expect(owners.get(1003)).toBeUndefined();
    expect(owners.needsRescan(1003)).toBe(true);
    await owners.rescan();
    expect(owners.get(1003)).toEqual({ pid: 300, name: 'nginx' });
    // A socket nobody holds (kernel socket): no second rescan in this cycle, none in the next.
    expect(owners.needsRescan(9999)).toBe(false);
    owners.endCycle();
    await owners.beginCycle();
    expect(owners.needsRescan(9999)).toBe(false);
    expect(owners.needsRescan(0)).toBe(false);
    owners.endCycle();

    // A vanished process takes its sockets with it.
    rmSync(join(root, '400'), { recursive: true });
    await owners.beginCycle();
    expect(owners.get(2001)).toBeUndefined();
    expect(warn).toEqual([]);
  });
});

describe('user names', () => {
  it('parses passwd, first entry wins', () => {
    const m = parsePasswd('root:x:0:0:root:/root:/bin/bash\n# comment\nbad line\nalice:x:1000:1000::/home/a:/bin/sh\ntoor:x:0:0::/:/bin/sh\n');
    expect([...m]).toEqual([
      [0, 'root'],
      [1000, 'alice'],
    ]);
  });
  it('reads the passwd file beside the proc root (/host/proc → /host/etc/passwd)', () => {
    root = mkdtempSync(join(tmpdir(), 'users-'));
    mkdirSync(join(root, 'proc'));
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc', 'passwd'), 'svc:x:4242:4242::/:/bin/false\n');
    const users = new UserNames(join(root, 'proc'));
    users.refresh();
    expect(users.name(4242)).toBe('svc');
    expect(users.name(0)).toBeUndefined();
  });
});
