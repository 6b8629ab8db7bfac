import { lstat, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { Size, StringEnum } from '../../../src/core/config/types.js';
import { pathProblem } from '../../../src/core/fs-check.js';
import { defineSink } from '../../../src/core/plugin.js';

export const FileSinkOptions = Type.Object(
  {
    path: Type.String({ minLength: 1, description: 'The file to append to; its directory is created.' }),
    max_size: Size({ default: '100MB', description: 'Rotate before the file would grow past this size.' }),
    max_files: Type.Integer({ minimum: 0, default: 5, description: 'Rotated files kept (path.1 … path.N); older ones are deleted.' }),
    compress: Type.Boolean({ default: false, description: 'gzip rotated files (path.1.gz …).' }),
    fsync: StringEnum(['never', 'batch'], {
      default: 'never',
      description: '`batch`: fsync after every batch (survives power loss, costs a disk flush per batch). `never`: leave it to the OS.',
    }),
    mode: Type.String({
      pattern: '^0?[0-7]{3}$',
      default: '0600',
      description: 'Permissions of the files it creates, rotated and gzipped ones too (octal); a directory it creates gets them plus x where readable.',
    }),
  },
  { additionalProperties: false },
);
export type FileSinkOptions = Static<typeof FileSinkOptions>;

/** The sink opens no symbolic link to a regular file, nor a dangling one (see openNoFollow in sink.ts). */
async function linkProblem(path: string): Promise<string | undefined> {
  const link = await lstat(path).catch(() => null);
  if (!link?.isSymbolicLink()) return undefined;
  const target = await stat(path).catch(() => null);
  if (target && !target.isFile()) return undefined;
  return `${path} is a symbolic link ${target ? 'to a regular file' : 'to nothing'}; the file sink follows no link to a file (give the real path)`;
}

export const fileSink = defineSink({
  type: 'file',
  kind: 'sink',
  description: 'Appends events as NDJSON to a file, rotating it by size and keeping a number of rotated files.',
  options: FileSinkOptions,
  sample: fileURLToPath(new URL('./sample.yaml', import.meta.url)),
  async check({ options, problem, claim }) {
    const path = resolve(options.path);
    const why = (await linkProblem(path)) ?? (await pathProblem(path, 'file'));
    if (why) problem('path', why);
    // Two sinks appending to one file would interleave and rotate each other's lines.
    claim(`file:${path}`, 'path');
  },
  load: () => import('./sink.js').then((m) => m.FileSink),
});
