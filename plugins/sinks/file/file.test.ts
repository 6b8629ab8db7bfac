import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Value } from '@sinclair/typebox/value';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EventStamper } from '../../../src/core/envelope.js';
import { SinkError } from '../../../src/core/errors.js';
import type { SinkEvent } from '../../../src/core/plugin.js';
import { FileSinkOptions } from './index.js';
import { FileSink } from './sink.js';

const logger = pino({ level: 'silent' });

function sink(options: Partial<FileSinkOptions> & { path: string }): FileSink {
  return new FileSink(Value.Default(FileSinkOptions, { ...options }) as FileSinkOptions, logger);
}

function events(from: number, count: number, pad = 0): SinkEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const sequence = from + i;
    const line = JSON.stringify({ sequence, pad: 'x'.repeat(pad) });
    return { dataset: 't', sequence, line, bytes: Buffer.from(line), field: () => undefined };
  });
}

function sequencesIn(path: string): number[] {
  const text = path.endsWith('.gz') ? gunzipSync(readFileSync(path)).toString() : readFileSync(path, 'utf8');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l).sequence);
}

describe('file sink', () => {
  it('creates directories and appends whole lines to an existing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'file-sink-'));
    const path = join(dir, 'a', 'b', 'events.ndjson');
    const first = sink({ path });
    await first.open();
    await first.write(events(1, 3));
    await first.close();
    const second = sink({ path });
    await second.open();
    await second.write(events(4, 2));
    await second.close();
    expect(sequencesIn(path)).toEqual([1, 2, 3, 4, 5]);
    // Private to the agent's user unless `mode` says otherwise, and so the directories it made.
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'a')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'a', 'b')).mode & 0o777).toBe(0o700);
  });

  it('rotates between lines so that no file passes max_size, keeping max_files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'file-sink-'));
    const path = join(dir, 'events.ndjson');
    const s = sink({ path, max_size: 1000, max_files: 3 });
    await s.open();
    for (let i = 0; i < 10; i++) await s.write(events(1 + i * 20, 20, 20));
    await s.close();
    const files = readdirSync(dir).sort();
    expect(files).toEqual(['events.ndjson', 'events.ndjson.1', 'events.ndjson.2', 'events.ndjson.3']);
    for (const f of files) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(1000);
    const kept = [3, 2, 1].map((n) => `${path}.${n}`).concat(path).flatMap(sequencesIn);
    expect(kept.at(-1)).toBe(200);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 201 - kept.length + i));
  });

  it('rotates between lines also when it writes the stamped lines as they lie, many to a write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'file-sink-'));
    const path = join(dir, 'events.ndjson');
    const s = sink({ path, max_size: 20_000, max_files: 100 });
    await s.open();
    const stamper = new EventStamper({ hostName: 'h', agentVersion: '0', agentId: 'a', ephemeralId: 'e', labels: {} });
    // Each batch is one run of ~70 KB in the stamper's block: one view, split across files.
    for (let b = 0; b < 5; b++) {
      await s.write(Array.from({ length: 200 }, (_, i) => stamper.stamp('t.x', 'state', { i, pad: 'y'.repeat(100 + (i % 50)) }, 0).hold()));
    }
    await s.close();
    const files = readdirSync(dir).map((f) => join(dir, f));
    expect(files.length).toBeGreaterThan(10); // ~350 KB in all
    for (const f of files) {
      expect(statSync(f).size).toBeLessThanOrEqual(20_000);
      expect(readFileSync(f, 'utf8').endsWith('\n')).toBe(true);
    }
    const order = (f: string) => (f === path ? 0 : Number(f.slice(path.length + 1)));
    const lines = files.sort((x, y) => order(y) - order(x)).flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));
    const all = lines.map((l) => (JSON.parse(l) as { event: { sequence: number } }).event.sequence);
    expect(all).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  });

  it('gives a line longer than max_size a file of its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'file-sink-'));
    const path = join(dir, 'events.ndjson');
    const s = sink({ path, max_size: 100, max_files: 5 });
    await s.open();
    await s.write([...events(1, 1), ...events(2, 1, 500), ...events(3, 1)]);
    await s.close();
    expect([`${path}.2`, `${path}.1`, path].map(sequencesIn)).toEqual([[1], [2], [3]]);
  });

  it('gzips rotated files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'file-sink-'));
    const path = join(dir, 'events.ndjson');
    const s = sink({ path, max_size: 500, max_files: 2, compress: true, fsync: 'batch', mode: '0640' });
    await s.open();
    for (let i = 0; i < 6; i++) await s.write(events(1 + i * 10, 10, 10));
    await s.close();
    expect(readdirSync(dir).sort()).toEqual(['events.ndjson', 'events.ndjson.1.gz', 'events.ndjson.2.gz']);
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o640);
    const all = [`${path}.2.gz`, `${path}.1.gz`, path].flatMap(sequencesIn);
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => 61 - all.length + i));
  });

  it('never rotates what is not a regular file', async () => {
    const s = sink({ path: '/dev/null', max_size: 10, max_files: 1 });
    await s.open();
    await s.write(events(1, 50));
    await s.close();
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    expect(existsSync('/dev/null.1')).toBe(false);
  });

  it('fails with a retriable SinkError naming the path when it cannot open it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'file-sink-'));
    writeFileSync(join(dir, 'file'), '');
    const path = join(dir, 'file', 'events.ndjson');
    const error = await sink({ path }).open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkError);
    expect((error as SinkError).message).toContain(`${path}: cannot open for appending`);
    expect(existsSync(path)).toBe(false);
  });

  it('does not follow a symbolic link planted at its path into a regular file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'file-sink-'));
    const victim = join(dir, 'root-owned.conf');
    writeFileSync(victim, 'precious\n');
    const path = join(dir, 'events.ndjson');
    symlinkSync(victim, path);
    const error = await sink({ path }).open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkError);
    expect((error as SinkError).message).toContain(`${path}: cannot open for appending: is a symbolic link to a regular file`);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    // Nor a dangling one: it would create the file it names.
    const dangling = join(dir, 'dangling.ndjson');
    symlinkSync(join(dir, 'created-through-the-link'), dangling);
    await expect(sink({ path: dangling }).open()).rejects.toThrow(SinkError);
    expect(existsSync(join(dir, 'created-through-the-link'))).toBe(false);
    // A link to what is no regular file (as /dev/stdout is) is what such a path is for.
    const toNull = join(dir, 'null.ndjson');
    symlinkSync('/dev/null', toNull);
    const s = sink({ path: toNull });
    await s.open();
    await s.write(events(1, 3));
    await s.close();
  });

  it('notices that its directory was removed and creates it again, rather than writing to a deleted file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'file-sink-'));
    const path = join(dir, 'logs', 'events.ndjson');
    const s = sink({ path });
    await s.open();
    await s.write(events(1, 3));
    rmSync(join(dir, 'logs'), { recursive: true });
    await s.write(events(4, 2));
    // Replaced by another file (moved away by hand, a new one put there): written there from now on.
    renameSync(path, `${path}.moved`);
    writeFileSync(path, '');
    await s.write(events(6, 1));
    await s.close();
    expect(sequencesIn(`${path}.moved`)).toEqual([4, 5]);
    expect(sequencesIn(path)).toEqual([6]);
  });
});
