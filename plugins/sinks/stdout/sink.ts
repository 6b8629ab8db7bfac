import { inject, injectable } from 'tsyringe';
import { StampedEvent } from '../../../src/core/envelope.js';
import { SinkError } from '../../../src/core/errors.js';
import { LineBuffer } from '../../../src/core/line-buffer.js';
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
  private readonly lines = new LineBuffer();

  constructor(@inject(TOKENS.PluginOptions) private readonly options: StdoutSinkOptions) {
    watchStdout();
  }

  async write(batch: readonly SinkEvent[]): Promise<void> {
    if (stdoutGone) throw new SinkError(`stdout: ${stdoutGone.message}`, false);
    if (this.options.format !== 'text') {
      // NDJSON as the stamper laid the lines out: mostly views of its blocks, no copy.
      for (const chunk of StampedEvent.ndjsonChunks(batch, this.lines)) await this.writeBytes(chunk);
      return;
    }
    const lines = this.lines;
    lines.clear();
    for (const event of batch) {
      const line = formatText(event.line);
      if (!lines.fits(line)) await this.writeOut();
      lines.push(line);
    }
    await this.writeOut();
  }

  /** Writes the lines held and clears them. */
  private async writeOut(): Promise<void> {
    const lines = this.lines;
    if (lines.length === 0) return;
    await this.writeBytes(lines.bytes.subarray(0, lines.length));
    lines.clear();
  }

  /** Resolves once stdout is done with `bytes` (a pipe may take them later). */
  private writeBytes(bytes: Buffer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      process.stdout.write(bytes, (err) => {
        if (!err) return resolve();
        // A closed pipe (`netagent run | head`) will not come back.
        const code = (err as NodeJS.ErrnoException).code;
        reject(new SinkError(`stdout: ${err.message}`, code !== 'EPIPE', { cause: err }));
      });
    });
  }
}
