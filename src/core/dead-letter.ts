/**
 * A sink's dead-letter file: events its destination refused for good (an Elasticsearch mapping
 * conflict, a Kafka topic that cannot exist), one JSON object per line with why, where they were
 * going and the event itself, so that nothing is dropped silently, one bad destination does not
 * hold up the others, and an operator can mend the cause and send the `event` members again.
 * Private to the agent's user; renamed to `<path>.1` at its size bound.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Type } from '@sinclair/typebox';
import type { AgentSettings } from './config/schema.js';
import { Size } from './config/types.js';
import { stateDirOf } from './identity.js';
import type { PluginInstance } from './plugin.js';
import { Serial } from './serial.js';
import { parseSize } from './units.js';

export function deadLetterOptions(refusal: string) {
  return Type.Object(
    {
      path: Type.String({
        default: '',
        description: `NDJSON file of events ${refusal}. Default: <agent.state_dir>/dead-letter/<instance id>.ndjson.`,
      }),
      max_size: Size({ default: '100MB', description: 'When the file reaches this size it is renamed to <path>.1 (replacing the older one).' }),
    },
    { additionalProperties: false, default: {} },
  );
}

/** Where the sink instance's dead-letter file is: `path`, or `<state_dir>/dead-letter/<instance id>.ndjson`. */
export function deadLetterPath(o: { path: string }, instance: PluginInstance, agent?: AgentSettings): string {
  return path.resolve(o.path || path.join(agent ? stateDirOf(agent) : '.state', 'dead-letter', `${instance.id}.ndjson`));
}

/** The sink instance's dead-letter file as its options name it. */
export function deadLetterFileFrom(o: { path: string; max_size: string | number }, instance: PluginInstance, agent?: AgentSettings): DeadLetterFile {
  return new DeadLetterFile(deadLetterPath(o, instance, agent), parseSize(o.max_size)!);
}

export interface DeadLetterReason {
  /** A short machine name: `mapper_parsing_exception`, `INVALID_TOPIC_EXCEPTION`. */
  readonly type: string;
  readonly reason: string;
  /** The field the reason names, when it names one. */
  readonly field: string | null;
  readonly caused_by?: unknown;
}

export interface DeadLetter {
  /** Index, data stream or topic. */
  readonly destination: string;
  /** The destination's status code for the refusal (HTTP status), when it gives one. */
  readonly status?: number;
  readonly error: DeadLetterReason;
  /** The event as it was sent: one line of JSON. */
  readonly event: string | Buffer;
}

export class DeadLetterFile {
  private fd: fsp.FileHandle | null = null;
  private size = 0;
  /** Appends are serialized; a failing one leaves the next to try again. */
  private readonly appends = new Serial();

  constructor(
    readonly file: string,
    private readonly maxBytes: number,
  ) {}

  /** Appends the letters; resolves once they are written (not fsynced: they are rare). */
  write(letters: readonly DeadLetter[]): Promise<void> {
    return this.appends.run(() => this.append(letters));
  }

  async close(): Promise<void> {
    await this.appends.idle();
    await this.fd?.close().catch(() => {});
    this.fd = null;
  }

  private async append(letters: readonly DeadLetter[]): Promise<void> {
    const at = new Date().toISOString();
    const lines = letters.map((l) => {
      const head = JSON.stringify({ '@timestamp': at, destination: l.destination, status: l.status, error: l.error });
      return `${head.slice(0, -1)},"event":${String(l.event)}}\n`;
    });
    const data = Buffer.from(lines.join(''));
    if (!this.fd) await this.open();
    if (this.size > 0 && this.size + data.length > this.maxBytes) {
      await this.fd!.close();
      this.fd = null;
      await fsp.rename(this.file, `${this.file}.1`);
      await this.open();
    }
    await this.fd!.write(data);
    this.size += data.length;
  }

  private async open(): Promise<void> {
    await fsp.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    this.fd = await fsp.open(this.file, 'a', 0o600);
    this.size = (await this.fd.stat()).size;
  }
}
