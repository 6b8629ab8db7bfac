import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { inject, injectable } from 'tsyringe';
import type { AgentSettings } from '../../../src/core/config/schema.js';
import type { CollectContext, Collector, EventFields, PluginInstance } from '../../../src/core/plugin.js';
import { after, type Timer } from '../../../src/core/timers.js';
import { TOKENS } from '../../../src/core/tokens.js';
import { parseDuration, parseSize } from '../../../src/core/units.js';
import { OBJECT_ROOTS } from '../../../src/core/ecs.js';
import { ENVELOPE_KEYS } from '../../../src/core/envelope.js';
import type { ExecOptions } from './index.js';

const RESERVED: ReadonlySet<string> = new Set(ENVELOPE_KEYS);

/** The PATH a command gets unless `env` sets one: the system's directories, as a service has. */
export const MINIMAL_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const EXAMPLE_CHARS = 200;

/** Why a stdout line is not an event, or the event's fields. */
export type LineResult = { fields: EventFields } | { problem: string };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * One stdout line → the fields of one event (pure). Blank lines are not events (null).
 * Envelope keys at the top level, and a non-object under a name ECS or netagent uses for an
 * object (which an index would reject), are moved under `exec.` or make the line malformed, per
 * `reserved`.
 */
export function parseLine(line: string, reserved: ExecOptions['reserved_keys']): LineResult | null {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (text.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'not JSON' };
  }
  if (!isPlainObject(value)) return { problem: 'not a JSON object' };
  const clashes = Object.keys(value).filter((k) => RESERVED.has(k) || (OBJECT_ROOTS.has(k) && !isPlainObject(value[k])));
  if (clashes.length === 0) return { fields: value };
  if (reserved === 'malformed') {
    return { problem: `uses the envelope's key(s), or a non-object where ECS has an object: ${clashes.join(', ')}` };
  }
  const fields: Record<string, unknown> = {};
  const moved: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) (clashes.includes(k) ? moved : fields)[k] = v;
  // A non-object `exec` is one of the moved keys itself (OBJECT_ROOTS): what stays is an object or nothing.
  fields.exec = { ...(fields.exec as Record<string, unknown> | undefined), ...moved };
  return { fields };
}

/** Runs the configured command each cycle; see README.md for the line format and failure rules. */
@injectable()
export class ExecCollector implements Collector {
  private readonly timeoutMs: number;
  private readonly graceMs: number;
  private readonly maxLine: number;
  private running: ChildProcess | null = null;

  constructor(
    @inject(TOKENS.PluginOptions) private readonly options: ExecOptions,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.PluginInstance) private readonly instance: PluginInstance,
    @inject(TOKENS.AgentSettings) private readonly agent: AgentSettings,
  ) {
    this.timeoutMs = parseDuration(options.timeout)!;
    this.graceMs = parseDuration(options.kill_grace)!;
    this.maxLine = parseSize(options.max_line_size)!;
  }

  async collect(ctx: CollectContext): Promise<void> {
    const [program, ...args] = this.options.command as [string, ...string[]];
    const child = spawn(program, args, {
      cwd: this.options.cwd,
      // Only what the config gives: the agent's own environment holds its secrets (the variable
      // sasl.password_env names), which a command has no business seeing.
      env: {
        PATH: MINIMAL_PATH,
        NETAGENT_PROC_ROOT: this.agent.proc_root,
        NETAGENT_INSTANCE: this.instance.id,
        ...this.options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so that a timeout kills its children too
    });
    this.running = child;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    exited.catch(() => undefined); // observed below

    let stopReason: string | null = null;
    // A process the command started in a session of its own (`setsid … &`) is out of reach of the
    // group kill and may keep stdout open forever: past the kill grace, stop reading.
    let readingStopped = false;
    const stopReading = (): void => {
      if (child.stdout!.readableEnded && child.stderr!.readableEnded) return;
      readingStopped = true;
      child.stdout!.destroy();
      child.stderr!.destroy();
    };
    const timers: Timer[] = [];
    const stop = (why: string): void => {
      if (stopReason !== null) return;
      stopReason = why;
      this.killGroup(child, 'SIGTERM');
      // Not cancelled when the run ends: group members that ignore SIGTERM are killed all the same.
      after(this.graceMs, () => {
        this.killGroup(child, 'SIGKILL');
        stopReading();
      }, { unref: true });
    };
    timers.push(after(this.timeoutMs, () => stop(`timed out after ${this.options.timeout}`)));
    child.once('exit', () => {
      timers.push(after(this.graceMs, () => {
        if (stopReason !== null) return;
        this.killGroup(child, 'SIGKILL');
        stopReading();
        if (readingStopped) {
          this.logger.warn({ kill_grace: this.options.kill_grace }, 'exec: the command exited but a process it started keeps its stdout open; stopped reading');
        }
      }));
    });
    const onAbort = (): void => stop('aborted (run timeout or agent stopping)');
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener('abort', onAbort, { once: true });

    // A stream destroyed by stopReading() ends its reader with ERR_STREAM_PREMATURE_CLOSE.
    const untilStopped = (reading: Promise<void>): Promise<void> =>
      reading.catch((err: NodeJS.ErrnoException) => {
        if (!(readingStopped && err.code === 'ERR_STREAM_PREMATURE_CLOSE')) throw err;
      });
    const stderr = untilStopped(this.readStderr(child));
    try {
      await untilStopped(this.readStdout(child, ctx));
      const { code, signal } = await exited;
      await stderr;
      if (stopReason !== null) throw new Error(`${this.describe()}: ${stopReason}`);
      if (signal !== null) throw new Error(`${this.describe()}: killed by ${signal}`);
      if (code !== 0) throw new Error(`${this.describe()}: exited with code ${code}`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EACCES') throw new Error(`${this.describe()}: cannot run: ${(err as Error).message}`);
      throw err;
    } finally {
      if (child.exitCode === null && child.signalCode === null) this.killGroup(child, 'SIGKILL');
      for (const t of timers) t.cancel();
      ctx.signal.removeEventListener('abort', onAbort);
      if (this.running === child) this.running = null;
    }
  }

  /** Kills a command still running (possible only when a run is abandoned at shutdown). */
  async close(): Promise<void> {
    if (this.running) this.killGroup(this.running, 'SIGKILL');
    this.running = null;
  }

  private describe(): string {
    return `command ${JSON.stringify(this.options.command[0])}`;
  }

  private killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is gone already
    }
  }

  /** Splits stdout into lines and emits them in order, pausing the command while sinks are full. */
  private async readStdout(child: ChildProcess, ctx: CollectContext): Promise<void> {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let oversized = false;
    let bad = 0;
    let example = '';
    const line = async (text: string): Promise<void> => {
      const result = parseLine(text, this.options.reserved_keys);
      if (result === null) return;
      if ('problem' in result) {
        if (bad++ === 0) example = `${result.problem}: ${text.slice(0, EXAMPLE_CHARS)}`;
        return;
      }
      if (!ctx.emit(this.options.dataset, this.options.kind, result.fields)) await ctx.drained();
    };
    for await (const chunk of child.stdout! as AsyncIterable<Buffer>) {
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(10, start);
        const end = nl < 0 ? chunk.length : nl;
        if (!oversized) {
          if (pendingBytes + end - start > this.maxLine) {
            oversized = true;
            pending = [];
            pendingBytes = 0;
          } else if (end > start) {
            pending.push(chunk.subarray(start, end));
            pendingBytes += end - start;
          }
        }
        if (nl < 0) break;
        if (oversized) {
          if (bad++ === 0) example = `line longer than max_line_size (${this.options.max_line_size})`;
          oversized = false;
        } else {
          const text = Buffer.concat(pending, pendingBytes).toString('utf8');
          pending = [];
          pendingBytes = 0;
          await line(text);
        }
        start = nl + 1;
      }
    }
    if (oversized) {
      if (bad++ === 0) example = `line longer than max_line_size (${this.options.max_line_size})`;
    } else if (pendingBytes > 0) await line(Buffer.concat(pending, pendingBytes).toString('utf8'));
    if (bad > 0) ctx.malformed(`exec ${this.instance.id} stdout`, bad, example);
  }

  /** Logs stderr line by line (at most max_stderr_lines per run, then one summary). */
  private async readStderr(child: ChildProcess): Promise<void> {
    let carry = '';
    let logged = 0;
    let dropped = 0;
    const max = this.options.max_stderr_lines;
    const log = (text: string): void => {
      if (text === '') return;
      if (logged < max) {
        logged++;
        this.logger.warn({ stderr: text.slice(0, 4096) }, 'exec command stderr');
      } else dropped++;
    };
    child.stderr!.setEncoding('utf8');
    for await (const chunk of child.stderr! as AsyncIterable<string>) {
      const lines = (carry + chunk).split('\n');
      carry = lines.pop()!;
      for (const l of lines) log(l.endsWith('\r') ? l.slice(0, -1) : l);
      if (carry.length > 4096) {
        log(carry);
        carry = '';
      }
    }
    log(carry);
    if (dropped > 0) this.logger.warn({ dropped }, 'exec command stderr: more lines than max_stderr_lines, not logged');
  }
}
