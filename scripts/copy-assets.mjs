// Copies what plugins read at run time beside their compiled code (sample.yaml, the elasticsearch
// sink's templates/*.json), so that `new URL('./sample.yaml', import.meta.url)` works from dist/ as
// it does from the sources.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'testdata' || name === 'node_modules') continue;
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.yaml') || name.endsWith('.json')) cpSync(path, join('dist', path));
  }
}
walk('plugins');
