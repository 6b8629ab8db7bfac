import { inject, injectable } from 'tsyringe';
import { SinkError } from '../../../src/core/errors.js';
import type { Sink, SinkEvent } from '../../../src/core/plugin.js';
import { TOKENS } from '../../../src/core/tokens.js';
import type { StdoutSinkOptions } from './index.js';
import { formatText } from './text.js';

/** Set once stdout's reader has gone (`netagent once | head`): a closed pipe does not come back. */
let stdoutGone: Error | null = null;
let listening = false;

function watchStdout(): void {
  if (listening) return;
  listening = true;
  // Without a listener, a closed pipe is an uncaught 'error' event that kills the process.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    stdoutGone = err;
  });
}

@injectable()
export class StdoutSink implements Sink {
  constructor(@inject(TOKENS.PluginOptions) private readonly options: StdoutSinkOptions) {
    watchStdout();
  }

  async write(batch: readonly SinkEvent[]): Promise<void> {
    if (stdoutGone) throw new SinkError(`stdout: ${stdoutGone.message}`, false);
    let text = '';
    for (const event of batch) text += (this.options.format === 'text' ? formatText(event.line) : event.line) + '\n';
    await new Promise<void>((resolve, reject) => {
      process.stdout.write(text, (err) => {
        if (!err) return resolve();
        // A closed pipe (`netagent run | head`) will not come back.
        const code = (err as NodeJS.ErrnoException).code;
        reject(new SinkError(`stdout: ${err.message}`, code !== 'EPIPE', { cause: err }));
      });
    });
  }
}
