/** readLinesIfExists: whole-line chunks of a file, and read buffers passed from one stream to the next. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLinesIfExists } from './procfs.js';

const dir = mkdtempSync(join(tmpdir(), 'netagent-procfs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file of `lines` lines of varied length, and its text. */
function file(name: string, lines: number, width = 150): { path: string; text: string } {
  const text = Array.from({ length: lines }, (_, i) => `${name} ${i} ${'x'.repeat(i % width)}\n`).join('');
  const path = join(dir, name);
  writeFileSync(path, text);
  return { path, text };
}

/** Reads the stream, checking each chunk holds whole lines; returns the text and the buffers used. */
async function readAll(chunks: AsyncIterable<Buffer>): Promise<{ text: string; buffers: Set<ArrayBufferLike> }> {
  let text = '';
  const buffers = new Set<ArrayBufferLike>();
  for await (const chunk of chunks) {
    expect(chunk[chunk.length - 1]).toBe(10);
    text += chunk.toString('latin1');
    buffers.add(chunk.buffer);
  }
  return { text, buffers };
}

describe('readLinesIfExists', () => {
  it('streams whole lines, growing the buffer for a line longer than it; null for no file', async () => {
    const { path, text } = file('small', 500, 120);
    expect((await readAll((await readLinesIfExists(path, 64))!)).text).toBe(text);
    expect(await readLinesIfExists(join(dir, 'absent'))).toBeNull();
  });

  it('passes a finished stream’s buffer to the next, never one still being read', async () => {
    const a = file('a', 8000); // ~700 KB: several 256 KiB chunks
    const b = file('b', 6000);
    const first = await readAll((await readLinesIfExists(a.path))!);
    expect(first.text).toBe(a.text);
    const second = await readAll((await readLinesIfExists(b.path))!);
    expect(second.text).toBe(b.text);
    expect([...second.buffers].some((x) => first.buffers.has(x))).toBe(true);
    // Two streams read in turns each have a buffer of their own.
    const [ia, ib] = [(await readLinesIfExists(a.path))!, (await readLinesIfExists(b.path))!].map((s) => s[Symbol.asyncIterator]());
    let ta = '';
    let tb = '';
    for (;;) {
      const [ra, rb] = [await ia!.next(), await ib!.next()];
      if (!ra.done) ta += ra.value.toString('latin1');
      if (!rb.done) tb += rb.value.toString('latin1');
      if (!ra.done && !rb.done) expect(ra.value.buffer).not.toBe(rb.value.buffer);
      if (ra.done && rb.done) break;
    }
    expect([ta, tb]).toEqual([a.text, b.text]);
  });
});
