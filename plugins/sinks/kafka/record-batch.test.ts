/**
 * The record batch encoder against an independent decoder (kafkajs's record batch decoder) and an
 * independent CRC-32C (bitwise, from its definition). The real broker checks the same batches in
 * sink.test.ts (it refuses a batch whose CRC or layout is wrong).
 */
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadCompressor } from './codecs.js';
import { encodeProduceRequest, encodeRecordBatch, type BatchRecord } from './record-batch.js';

const require = createRequire(import.meta.url);
const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => unknown;
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (d: unknown) => Promise<{
  firstOffset: string;
  firstTimestamp: string;
  maxTimestamp: string;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  records: { key: Buffer | null; value: Buffer; headers: Record<string, Buffer>; offset: string; timestamp: string }[];
}>;

/** CRC-32C (Castagnoli), bit by bit: slow and obviously right. */
function crc32cReference(b: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of b) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const record = (key: string | null, value: string | Buffer, headers: Record<string, string> | null): BatchRecord => ({
  key,
  value,
  valueLength: Buffer.byteLength(value),
  headers,
});
const records: BatchRecord[] = [
  record('edge-42', '{"event":{"sequence":1}}', null),
  // Non-ASCII text as a string and as bytes (values come back from the spool's disk as bytes).
  record(null, '{"text":"ünïcödé ✓"}', { dataset: 'tcp.socket', 'x-émoji': '🚀' }),
  record('k', Buffer.from('{"text":"ünïcödé ✓"}'), null),
  // A value long enough for two-byte varints, and a key that is empty (not null).
  record('', 'x'.repeat(300), {}),
];

describe('record batch encoder', () => {
  it('writes what an independent decoder reads back, with a valid CRC-32C', async () => {
    const batch = await encodeRecordBatch(records, 1_700_000_000_123, null);
    expect(batch.readUInt32BE(17)).toBe(crc32cReference(batch.subarray(21)));
    expect(batch.readInt32BE(8)).toBe(batch.length - 12);
    expect(batch.readInt8(16)).toBe(2);
    const d = await decodeBatch(new Decoder(batch));
    expect(d.records.map((r) => [r.key?.toString() ?? null, r.value.toString(), Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.toString()]))])).toEqual(
      records.map((r) => [r.key, r.value.toString(), r.headers ?? {}]),
    );
    expect(d.records.map((r) => r.offset)).toEqual(['0', '1', '2', '3']);
    expect(d.records.every((r) => r.timestamp === '1700000000123')).toBe(true);
    expect([d.producerId, d.producerEpoch, d.firstSequence]).toEqual(['-1', -1, -1]);
  });

  it('compresses the records section and flags the codec (gzip read back by zlib)', async () => {
    const gzip = (await loadCompressor('gzip'))!;
    const batch = await encodeRecordBatch(records, 1_700_000_000_123, gzip);
    expect(batch.readInt16BE(21) & 0x7).toBe(1);
    expect(batch.readUInt32BE(17)).toBe(crc32cReference(batch.subarray(21)));
    const plain = await encodeRecordBatch(records, 1_700_000_000_123, null);
    expect(gunzipSync(batch.subarray(61)).equals(plain.subarray(61))).toBe(true);
    expect(batch.readInt32BE(57)).toBe(records.length);
  });

  it('carries the producer id, epoch and base sequence of an idempotent producer', async () => {
    const batch = await encodeRecordBatch(records, 1, null, { producerId: 4242n, producerEpoch: 3, baseSequence: 77 });
    const d = await decodeBatch(new Decoder(batch));
    expect([d.producerId, d.producerEpoch, d.firstSequence]).toEqual(['4242', 3, 77]);
  });

  it('frames batches in a Produce request body', () => {
    const a = Buffer.from('batch-a');
    const b = Buffer.from('bb');
    const body = encodeProduceRequest(-1, 30_000, [{ topic: 'tø', partitions: [{ partition: 0, batch: a }, { partition: 5, batch: b }] }]);
    const expected = Buffer.concat([
      Buffer.from([0xff, 0xff]), // transactional_id: null
      Buffer.from([0xff, 0xff]), // acks -1
      Buffer.from([0, 0, 0x75, 0x30]), // timeout 30000
      Buffer.from([0, 0, 0, 1]), // one topic
      Buffer.from([0, 3]), Buffer.from('tø'),
      Buffer.from([0, 0, 0, 2]), // two partitions
      Buffer.from([0, 0, 0, 0, 0, 0, 0, 7]), a,
      Buffer.from([0, 0, 0, 5, 0, 0, 0, 2]), b,
    ]);
    expect(body.equals(expected)).toBe(true);
  });
});
