/**
 * What `validate` can tell about a path before anything is created: a file that is a directory, a
 * directory that is a file, a path under a regular file (which no one, not even root, can create).
 */
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

function missing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Why `path` cannot be used, or created, as a `kind`; undefined when it can as far as a look tells
 * (permissions are left to the run: they may be granted before it).
 */
export async function pathProblem(path: string, kind: 'file' | 'directory'): Promise<string | undefined> {
  const full = resolve(path);
  try {
    const found = await stat(full);
    if (kind === 'directory' && !found.isDirectory()) return `${full} exists and is not a directory`;
    if (kind === 'file' && found.isDirectory()) return `${full} is a directory`;
    return undefined;
  } catch (err) {
    if (!missing(err)) return undefined;
  }
  // Missing: the nearest existing ancestor must be a directory to create it in.
  for (let dir = dirname(full); ; dir = dirname(dir)) {
    try {
      const found = await stat(dir);
      return found.isDirectory() ? undefined : `${full} cannot be created: ${dir} is not a directory`;
    } catch (err) {
      if (!missing(err) || dir === dirname(dir)) return undefined;
    }
  }
}
