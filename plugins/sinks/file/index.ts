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
    mode: Type.String({ pattern: '^0?[0-7]{3}$', default: '0640', description: 'Permissions of new files (octal).' }),
  },
  { additionalProperties: false },
);
export type FileSinkOptions = Static<typeof FileSinkOptions>;

export const fileSink = defineSink({
  type: 'file',
  kind: 'sink',
  description: 'Appends events as NDJSON to a file, rotating it by size and keeping a number of rotated files.',
  options: FileSinkOptions,
  sample: fileURLToPath(new URL('./sample.yaml', import.meta.url)),
  async check({ options, problem, claim }) {
    const path = resolve(options.path);
    const why = await pathProblem(path, 'file');
    if (why) problem('path', why);
    // Two sinks appending to one file would interleave and rotate each other's lines.
    claim(`file:${path}`, 'path');
  },
  load: () => import('./sink.js').then((m) => m.FileSink),
});
