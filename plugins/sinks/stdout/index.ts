import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from '../../../src/core/config/types.js';
import { defineSink } from '../../../src/core/plugin.js';

export const StdoutSinkOptions = Type.Object(
  {
    format: StringEnum(['ndjson', 'text'], {
      default: 'ndjson',
      description: '`ndjson`: one JSON event per line. `text`: time, dataset and key=value pairs, for people.',
    }),
  },
  { additionalProperties: false },
);
export type StdoutSinkOptions = Static<typeof StdoutSinkOptions>;

export const stdoutSink = defineSink({
  type: 'stdout',
  kind: 'sink',
  description: 'Writes events to standard output, one JSON object per line (or a readable text form).',
  options: StdoutSinkOptions,
  sample: fileURLToPath(new URL('./sample.yaml', import.meta.url)),
  load: () => import('./sink.js').then((m) => m.StdoutSink),
});
