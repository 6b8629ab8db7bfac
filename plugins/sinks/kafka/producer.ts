/**
 * Sends a batch of spooled records to Kafka: partitions it like the Java client's default partitioner,
 * encodes one record batch per partition (record-batch.ts) and sends one Produce request per leader.
 *
 * kafkajs still does what it does well: connections (TLS, SASL), API version negotiation, metadata,
 * request framing and response decoding. It has no public way to send batches encoded elsewhere, so
 * this file, and only this file, uses kafkajs 2.2.4 internals (the version is pinned in package.json):
 * the client's cluster factory (the cluster `kafka.producer()` would get, configured the same), a
 * broker's connection pool, the Produce v7 response decoder and the default partitioner's murmur2.
 */
import { createRequire } from 'node:module';
import type { Kafka } from 'kafkajs';
import {
  encodeProduceRequest,
  encodeRecordBatch,
  NOT_IDEMPOTENT,
  type BatchRecord,
  type Compressor,
  type ProducerIdentity,
  type TopicBatches,
} from './record-batch.js';

/** A record as the spool hands it over, with where it sits there (identifies a batch for a re-send). */
export interface OutgoingRecord extends BatchRecord {
  /** The topic. */
  readonly destination: string;
  readonly seg: number;
  readonly end: number;
}

export interface ProducerSettings {
  acks: -1 | 0 | 1;
  /** Broker-side wait for replica acks. */
  ackTimeoutMs: number;
  compressor: Compressor | null;
  idempotent: boolean;
}

interface PartitionMetadata {
  partitionId: number;
  leader: number;
}
interface KafkaJsRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse(): boolean;
  encode(): Promise<{ buf: Buffer; buffer: Buffer }>;
}
interface KafkaJsBroker {
  connectionPool: { send(r: { request: KafkaJsRequest; response: unknown }): Promise<unknown> };
  initProducerId(r: { transactionTimeout: number }): Promise<{ producerId: string; producerEpoch: number }>;
}
interface KafkaJsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  refreshMetadata(): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  findTopicPartitionMetadata(topic: string): PartitionMetadata[];
  findBroker(r: { nodeId: number }): Promise<KafkaJsBroker>;
}

const requireKafkaJs = createRequire(import.meta.url);
const PRODUCE_API_KEY = 0;
/**
 * Produce v7: the request is laid out as since v3 (record batches), and v7 is the first version with
 * which brokers accept zstd. Brokers from Kafka 2.1 on speak it; Kafka 4 accepts v3 to v12.
 */
const PRODUCE_VERSION = 7;
/** Metadata older than this is refreshed before a send (kafkajs's producer default). */
const METADATA_MAX_AGE_MS = 300_000;
/** Errors after which the broker no longer knows our idempotent producer state: start a new one. */
const PRODUCER_STATE_LOST = /OUT_OF_ORDER_SEQUENCE_NUMBER|UNKNOWN_PRODUCER_ID|INVALID_PRODUCER_EPOCH/;

/** One partition's part of a batch, encoded. */
interface EncodedPartition {
  topic: string;
  partition: number;
  batch: Buffer;
}

export class BatchProducer {
  private readonly cluster: KafkaJsCluster;
  private readonly produceResponse: unknown;
  private readonly murmur2: (key: string) => number;
  /** Partition per key, per topic; dropped when the topic's partition count changes. */
  private readonly keyPartitions = new Map<string, { count: number; byKey: Map<string, number> }>();
  /** Per topic, which available partition the next batch's keyless records go to. */
  private readonly keylessNext = new Map<string, number>();
  private metadataStale = false;
  // Idempotence: the producer id, the next sequence per partition, and the last batch not known to
  // be written, kept encoded so that a re-send is the very same batch (which the broker recognizes).
  private producerId = -1n;
  private producerEpoch = -1;
  private readonly sequences = new Map<string, number>();
  private unconfirmed: { first: OutgoingRecord; count: number; partitions: EncodedPartition[] } | null = null;
  private producerStateLost = false;

  constructor(
    kafka: Kafka,
    private readonly settings: ProducerSettings,
  ) {
    this.cluster = createCluster(kafka);
    this.produceResponse = requireKafkaJs('kafkajs/src/protocol/requests/produce/v7/response');
    this.murmur2 = requireKafkaJs('kafkajs/src/producer/partitioners/default/murmur2');
  }

  async connect(): Promise<void> {
    await this.cluster.connect();
  }

  async disconnect(): Promise<void> {
    await this.cluster.disconnect();
  }

  /**
   * With idempotence, after a failed send: how many records the next send must take so that it is the
   * same batch again. Null when any batch will do.
   */
  get resendCount(): number | null {
    return this.unconfirmed && !this.producerStateLost ? this.unconfirmed.count : null;
  }

  /** Sends the records; resolves when every leader acknowledged (at once with acks 0). */
  async send(records: readonly OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return;
    try {
      await this.encodeAndProduce(records);
    } catch (e) {
      // Leaders may have moved or partitions changed: look again before the next attempt.
      this.metadataStale = true;
      if (PRODUCER_STATE_LOST.test(errorType(e))) this.producerStateLost = true;
      throw e;
    }
  }

  private async encodeAndProduce(records: readonly OutgoingRecord[]): Promise<void> {
    const topics = [...new Set(records.map((r) => r.destination))];
    await this.cluster.addMultipleTargetTopics(topics);
    if (this.metadataStale) {
      await this.cluster.refreshMetadata();
      this.metadataStale = false;
    } else {
      await this.cluster.refreshMetadataIfNecessary();
    }
    const partitions = this.settings.idempotent ? await this.idempotentBatches(records) : await this.encode(records);
    await this.produce(partitions);
    if (this.settings.idempotent) this.unconfirmed = null;
  }

  /** Partitions and encodes a batch; `identity` gives each partition's producer fields. */
  private async encode(
    records: readonly OutgoingRecord[],
    identity?: (topic: string, partition: number, count: number) => ProducerIdentity,
  ): Promise<EncodedPartition[]> {
    type TopicGroup = { partitionOf: (key: string | null) => number; partitions: Map<number, OutgoingRecord[]> };
    const byTopic = new Map<string, TopicGroup>();
    let topic: string | null = null;
    let group!: TopicGroup;
    for (const r of records) {
      if (r.destination !== topic) {
        topic = r.destination;
        let g = byTopic.get(topic);
        if (!g) byTopic.set(topic, (g = { partitionOf: this.partitioner(topic), partitions: new Map() }));
        group = g;
      }
      const partition = group.partitionOf(r.key);
      let list = group.partitions.get(partition);
      if (!list) group.partitions.set(partition, (list = []));
      list.push(r);
    }
    const now = Date.now();
    const encoded: Promise<EncodedPartition>[] = [];
    for (const [t, { partitions: parts }] of byTopic) {
      for (const [partition, list] of parts) {
        const id = identity?.(t, partition, list.length) ?? NOT_IDEMPOTENT;
        encoded.push(encodeRecordBatch(list, now, this.settings.compressor, id).then((batch) => ({ topic: t, partition, batch })));
      }
    }
    return Promise.all(encoded);
  }

  /**
   * The same encoded batch again when this is a re-send of the unconfirmed one (the broker then keeps
   * only one copy); else a new batch with the next sequence numbers, under a new producer id when the
   * broker's state for the old one may no longer match ours.
   */
  private async idempotentBatches(records: readonly OutgoingRecord[]): Promise<EncodedPartition[]> {
    const u = this.unconfirmed;
    const first = records[0]!;
    if (u && !this.producerStateLost && u.count === records.length && u.first.seg === first.seg && u.first.end === first.end) {
      return u.partitions;
    }
    if (u || this.producerStateLost || this.producerId < 0n) await this.newProducerId(first.destination);
    const partitions = await this.encode(records, (topic, partition, count) => {
      const key = `${topic}\0${partition}`;
      const baseSequence = this.sequences.get(key) ?? 0;
      this.sequences.set(key, (baseSequence + count) % 2 ** 31);
      return { producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence };
    });
    this.unconfirmed = { first, count: records.length, partitions };
    return partitions;
  }

  /** Asks a broker (any will do without transactions: a leader of `topic`) for a new producer id. */
  private async newProducerId(topic: string): Promise<void> {
    const anyLeader = this.cluster.findTopicPartitionMetadata(topic).find((m) => m.leader >= 0)?.leader;
    if (anyLeader === undefined) throw new Error('no partition leader known to ask for a producer id');
    const broker = await this.cluster.findBroker({ nodeId: anyLeader });
    const r = await broker.initProducerId({ transactionTimeout: 30_000 });
    this.producerId = BigInt(r.producerId);
    this.producerEpoch = r.producerEpoch;
    this.sequences.clear();
    this.unconfirmed = null;
    this.producerStateLost = false;
  }

  private async produce(partitions: readonly EncodedPartition[]): Promise<void> {
    const byLeader = new Map<number, Map<string, { partition: number; batch: Buffer }[]>>();
    for (const p of partitions) {
      const leader = this.cluster.findTopicPartitionMetadata(p.topic).find((m) => m.partitionId === p.partition)?.leader;
      if (leader === undefined || leader < 0) throw new Error(`no leader for ${p.topic} partition ${p.partition}`);
      let topics = byLeader.get(leader);
      if (!topics) byLeader.set(leader, (topics = new Map()));
      let list = topics.get(p.topic);
      if (!list) topics.set(p.topic, (list = []));
      list.push({ partition: p.partition, batch: p.batch });
    }
    const { acks, ackTimeoutMs } = this.settings;
    await Promise.all(
      [...byLeader].map(async ([nodeId, topics]) => {
        const body = encodeProduceRequest(
          acks,
          ackTimeoutMs,
          [...topics].map(([topic, list]): TopicBatches => ({ topic, partitions: list })),
        );
        const broker = await this.cluster.findBroker({ nodeId });
        try {
          await broker.connectionPool.send({
            request: {
              apiKey: PRODUCE_API_KEY,
              apiVersion: PRODUCE_VERSION,
              apiName: 'Produce',
              expectResponse: () => acks !== 0,
              // kafkajs frames the request around this; it expects its Encoder's shape.
              encode: async () => ({ buf: body, buffer: body }),
            },
            response: this.produceResponse,
          });
        } catch (e) {
          // A batch the broker already has (a re-send under idempotence) is a success.
          if (errorType(e) !== 'DUPLICATE_SEQUENCE_NUMBER') throw e;
        }
      }),
    );
  }

  /**
   * The partition chooser for one batch's records of `topic`. Keyed: murmur2 of the key over all
   * partitions (the Java client's choice, so a key lands in the same partition whichever client wrote
   * it). No key: one partition for the batch, the next available one after the previous batch's.
   */
  private partitioner(topic: string): (key: string | null) => number {
    const meta = this.cluster.findTopicPartitionMetadata(topic);
    if (meta.length === 0) throw new Error(`no metadata for topic ${JSON.stringify(topic)}`);
    let cache = this.keyPartitions.get(topic);
    if (!cache || cache.count !== meta.length) this.keyPartitions.set(topic, (cache = { count: meta.length, byKey: new Map() }));
    const byKey = cache.byKey;
    let keyless: number | undefined;
    return (key) => {
      if (key === null) {
        if (keyless === undefined) {
          const next = this.keylessNext.get(topic) ?? Math.floor(Math.random() * meta.length);
          this.keylessNext.set(topic, next + 1);
          const available = meta.filter((m) => m.leader >= 0);
          keyless = (available.length > 0 ? available[next % available.length]! : meta[next % meta.length]!).partitionId;
        }
        return keyless;
      }
      let p = byKey.get(key);
      if (p === undefined) {
        p = (this.murmur2(key) & 0x7fffffff) % meta.length;
        byKey.set(key, p);
      }
      return p;
    };
  }
}

/**
 * The cluster object kafkajs's own producer would use, made by the client's private factory, so brokers,
 * TLS, SASL, timeouts, retries and logging are exactly as configured on `kafka`.
 */
function createCluster(kafka: Kafka): KafkaJsCluster {
  const factory = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  if (!factory) throw new Error('kafkajs: this version has no cluster factory (netagent needs kafkajs 2.2.x)');
  const make = (kafka as unknown as Record<symbol, (o: object) => KafkaJsCluster>)[factory]!;
  return make({ metadataMaxAge: METADATA_MAX_AGE_MS, allowAutoTopicCreation: false });
}

function errorType(e: unknown): string {
  return String((e as { type?: unknown })?.type ?? '');
}
