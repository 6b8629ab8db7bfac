/**
 * Kafka record batches (message format v2, the only one Kafka 4 accepts) and the body of the Produce
 * request that carries them (v3 to v8 share its layout), encoded straight from spooled records into one
 * buffer per batch.
 *
 * Why not kafkajs's encoder: it builds a buffer per record, grows buffers by copying and computes the
 * CRC-32C byte by byte in JavaScript (~1.3 µs per 500-byte event); that alone held the sink to ~70k
 * events/s. Here a record costs a few varints and one copy of its value, and the CRC is computed
 * natively (`@node-rs/crc32`, SSE4.2/ARMv8 CRC instructions).
 *
 * Layouts: https://kafka.apache.org/documentation/#recordbatch and the Produce request in
 * https://kafka.apache.org/protocol#The_Messages_Produce
 */
import { crc32c } from '@node-rs/crc32';

/** What one record carries; strings are written as UTF-8. */
export interface BatchRecord {
  readonly key: string | null;
  readonly value: string | Buffer;
  /** Bytes of the value as UTF-8 (measured when it was spooled). */
  readonly valueLength: number;
  readonly headers: Readonly<Record<string, string>> | null;
}

/** Compresses the records section; `attribute` is the codec id in the batch attributes (0: none). */
export interface Compressor {
  readonly attribute: number;
  compress(records: Buffer): Promise<Buffer>;
}

export interface ProducerIdentity {
  /** -1 unless idempotent. */
  readonly producerId: bigint;
  readonly producerEpoch: number;
  /** Sequence of the batch's first record (-1 unless idempotent). */
  readonly baseSequence: number;
}

export const NOT_IDEMPOTENT: ProducerIdentity = { producerId: -1n, producerEpoch: -1, baseSequence: -1 };

/** Bytes of the batch header before the first record (baseOffset .. records count). */
const BATCH_HEADER = 61;
/** Offset of the attributes field: the CRC covers from here to the end. */
const CRC_START = 21;

/**
 * Encodes one record batch for a partition: all records get the batch's timestamp (create time) and
 * offset deltas 0..n-1.
 */
export async function encodeRecordBatch(
  records: readonly BatchRecord[],
  timestamp: number,
  compressor: Compressor | null,
  identity: ProducerIdentity = NOT_IDEMPOTENT,
): Promise<Buffer> {
  const layout = measureRecords(records);
  let batch: Buffer;
  if (compressor) {
    const scratch = takeScratch(layout.total);
    let section: Buffer;
    try {
      writeRecords(records, layout, scratch, 0);
      section = await compressor.compress(scratch.subarray(0, layout.total));
    } finally {
      scratchBuffers.push(scratch);
    }
    batch = Buffer.allocUnsafe(BATCH_HEADER + section.length);
    section.copy(batch, BATCH_HEADER);
  } else {
    batch = Buffer.allocUnsafe(BATCH_HEADER + layout.total);
    writeRecords(records, layout, batch, BATCH_HEADER);
  }
  batch.writeBigInt64BE(0n, 0); // baseOffset: the broker assigns offsets
  batch.writeInt32BE(batch.length - 12, 8); // batchLength: after baseOffset and itself
  batch.writeInt32BE(-1, 12); // partitionLeaderEpoch: set by the broker
  batch.writeInt8(2, 16); // magic
  batch.writeInt16BE(compressor?.attribute ?? 0, 21); // attributes: codec; create time; not transactional
  batch.writeInt32BE(records.length - 1, 23); // lastOffsetDelta
  batch.writeBigInt64BE(BigInt(timestamp), 27); // baseTimestamp
  batch.writeBigInt64BE(BigInt(timestamp), 35); // maxTimestamp
  batch.writeBigInt64BE(identity.producerId, 43);
  batch.writeInt16BE(identity.producerEpoch, 51);
  batch.writeInt32BE(identity.baseSequence, 53);
  batch.writeInt32BE(records.length, 57);
  batch.writeUInt32BE(crc32c(batch.subarray(CRC_START)), 17);
  return batch;
}

/**
 * Buffers for the uncompressed records of batches being compressed, reused: memory written again and
 * again stays in the CPU caches, while filling a fresh buffer per batch costs several times more. One is
 * taken per batch being compressed (on the thread pool, so several may be at once).
 */
const scratchBuffers: Buffer[] = [];

function takeScratch(size: number): Buffer {
  const b = scratchBuffers.pop();
  return b && b.length >= size ? b : Buffer.allocUnsafe(Math.max(size, 2 * (b?.length ?? 0)));
}

interface RecordsLayout {
  /** Bytes of each record after its length varint. */
  bodySizes: Int32Array;
  total: number;
}

/**
 * Sizes first, so a batch is written into a buffer of its final size. Records of a batch mostly share
 * their key: its length is measured once per run of equal keys.
 */
function measureRecords(records: readonly BatchRecord[]): RecordsLayout {
  const n = records.length;
  const bodySizes = new Int32Array(n);
  let total = 0;
  let key: string | null | undefined;
  let keyLen = -1;
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    if (r.key !== key) {
      key = r.key;
      keyLen = key === null ? -1 : Buffer.byteLength(key);
    }
    let headerCount = 0;
    let headerLen = 0;
    if (r.headers) {
      for (const name in r.headers) {
        const nl = Buffer.byteLength(name);
        const vl = Buffer.byteLength(r.headers[name]!);
        headerCount++;
        headerLen += varintSize(nl) + nl + varintSize(vl) + vl;
      }
    }
    const valueLen = r.valueLength;
    const size =
      2 + // attributes, timestampDelta 0
      varintSize(i) + // offsetDelta
      varintSize(keyLen) +
      Math.max(0, keyLen) +
      varintSize(valueLen) +
      valueLen +
      varintSize(headerCount) +
      headerLen;
    bodySizes[i] = size;
    total += varintSize(size) + size;
  }
  return { bodySizes, total };
}

/** Each record: `length attributes timestampDelta offsetDelta key value headers`, from `offset` on. */
function writeRecords(records: readonly BatchRecord[], layout: RecordsLayout, buf: Buffer, offset: number): void {
  let o = offset;
  let key: string | null | undefined;
  let keyBytes: Buffer | null = null;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (r.key !== key) {
      key = r.key;
      keyBytes = key === null ? null : Buffer.from(key);
    }
    o = writeVarint(buf, o, layout.bodySizes[i]!);
    buf[o++] = 0; // attributes (unused)
    buf[o++] = 0; // timestampDelta: every record has the batch timestamp
    o = writeVarint(buf, o, i); // offsetDelta
    if (keyBytes === null) o = writeVarint(buf, o, -1);
    else {
      o = writeVarint(buf, o, keyBytes.length);
      buf.set(keyBytes, o); // TypedArray.set: no per-call argument handling, unlike Buffer.copy
      o += keyBytes.length;
    }
    o = writeVarint(buf, o, r.valueLength);
    const v = r.value;
    o += typeof v === 'string' ? writeUtf8(buf, o, v, r.valueLength) : v.copy(buf, o);
    if (!r.headers) {
      buf[o++] = 0; // no headers
      continue;
    }
    const names = Object.keys(r.headers);
    o = writeVarint(buf, o, names.length);
    for (const name of names) {
      o = writeVarint(buf, o, Buffer.byteLength(name));
      o += buf.write(name, o);
      const value = r.headers[name]!;
      o = writeVarint(buf, o, Buffer.byteLength(value));
      o += buf.write(value, o);
    }
  }
}

/**
 * Writes `s` as UTF-8 given its UTF-8 byte length. A string whose UTF-8 length equals its length is
 * ASCII, which latin1 copies without transcoding: event lines nearly always are.
 */
function writeUtf8(buf: Buffer, offset: number, s: string, byteLength: number): number {
  return byteLength === s.length ? buf.write(s, offset, 'latin1') : buf.write(s, offset);
}

/** Zig-zag varint (Kafka's signed varint) of a 32-bit integer. */
function writeVarint(buf: Buffer, offset: number, value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  while (v > 0x7f) {
    buf[offset++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[offset++] = v;
  return offset;
}

function varintSize(value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  let n = 1;
  while (v > 0x7f) {
    n++;
    v >>>= 7;
  }
  return n;
}

/** One topic's record batches, by partition. */
export interface TopicBatches {
  readonly topic: string;
  readonly partitions: readonly { readonly partition: number; readonly batch: Buffer }[];
}

/**
 * The body of a Produce request, v3 to v8 (after the request header kafkajs writes):
 * `transactional_id acks timeout [topic [partition record_set]]`.
 */
export function encodeProduceRequest(acks: number, timeoutMs: number, topics: readonly TopicBatches[]): Buffer {
  let size = 2 + 2 + 4 + 4;
  for (const t of topics) {
    size += 2 + Buffer.byteLength(t.topic) + 4;
    for (const p of t.partitions) size += 4 + 4 + p.batch.length;
  }
  const buf = Buffer.allocUnsafe(size);
  let o = buf.writeInt16BE(-1, 0); // transactional_id: null
  o = buf.writeInt16BE(acks, o);
  o = buf.writeInt32BE(timeoutMs, o);
  o = buf.writeInt32BE(topics.length, o);
  for (const t of topics) {
    o = buf.writeInt16BE(Buffer.byteLength(t.topic), o);
    o += buf.write(t.topic, o);
    o = buf.writeInt32BE(t.partitions.length, o);
    for (const p of t.partitions) {
      o = buf.writeInt32BE(p.partition, o);
      o = buf.writeInt32BE(p.batch.length, o);
      o += p.batch.copy(buf, o);
    }
  }
  return buf;
}
