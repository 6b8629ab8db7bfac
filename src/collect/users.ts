/**
 * uid → user name, as `netstat -e` shows it, from the passwd file of the host whose /proc is read:
 * `<parent of proc_root>/etc/passwd` (so `/host/proc` reads `/host/etc/passwd`), else `/etc/passwd`.
 * netstat asks NSS (which may also consult LDAP or systemd-userdb); only the files are read here.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Pure: the uid → name map of a passwd file's text (first entry wins, like getpwuid). */
export function parsePasswd(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line[0] === '#') continue;
    const f = line.split(':');
    if (f.length < 3) continue;
    const uid = Number(f[2]);
    if (f[0] && Number.isInteger(uid) && f[2] !== '' && !names.has(uid)) names.set(uid, f[0]);
  }
  return names;
}

export class UserNames {
  private readonly candidates: string[];
  private names = new Map<number, string>();
  private loadedFrom = '';
  private mtimeMs = -1;
  private size = -1;

  constructor(procRoot: string) {
    const hostEtc = join(dirname(resolve(procRoot)), 'etc', 'passwd');
    this.candidates = hostEtc === '/etc/passwd' ? [hostEtc] : [hostEtc, '/etc/passwd'];
  }

  /** Re-reads the passwd file when it changed (one stat per call). */
  refresh(): void {
    for (const path of this.candidates) {
      let st;
      try {
        st = statSync(path);
      } catch {
        continue;
      }
      if (path === this.loadedFrom && st.mtimeMs === this.mtimeMs && st.size === this.size) return;
      try {
        this.names = parsePasswd(readFileSync(path, 'utf8'));
      } catch {
        continue;
      }
      this.loadedFrom = path;
      this.mtimeMs = st.mtimeMs;
      this.size = st.size;
      return;
    }
    this.names = new Map();
    this.loadedFrom = '';
  }

  /** The name of uid, or undefined when the passwd file has none (netstat then shows the number). */
  name(uid: number): string | undefined {
    return this.names.get(uid);
  }
}
