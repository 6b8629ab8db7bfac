/**
 * Shell-style globs (`*`, `?`, `[abc]`) as used for dataset routing, interface names and nstat
 * counter patterns. Compiled once into one RegExp per list.
 */
function globToRegExpSource(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) out += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        out += `[${body}]`;
        i = end;
      }
    } else out += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return out;
}

/** A predicate that is true when `name` matches any of `globs`. */
export function globMatcher(globs: readonly string[]): (name: string) => boolean {
  if (globs.length === 0) return () => false;
  if (globs.includes('*')) return () => true;
  const re = new RegExp(`^(?:${globs.map(globToRegExpSource).join('|')})$`);
  return (name) => re.test(name);
}

/**
 * include/exclude filtering as users expect from Telegraf and nstat: an empty include list
 * means everything; exclude wins over include.
 */
export function includeExclude(
  include: readonly string[],
  exclude: readonly string[],
): (name: string) => boolean {
  const inc = include.length === 0 ? () => true : globMatcher(include);
  const exc = globMatcher(exclude);
  return (name) => inc(name) && !exc(name);
}
