/**
 * The kafka sink's manifest: options schema and a lazy loader. kafkajs and the codecs are imported only by
 * load(), so an agent without a kafka sink never pays for them.
 */
import { Type, type Static } from '@sinclair/typebox';
import { fileURLToPath } from 'node:url';
import { Duration, Size, StringEnum } from '../../../src/core/config/types.js';
import { defineSink } from '../../../src/core/plugin.js';
import { spooledDeliveryOptions } from '../../../src/core/spool/options.js';
import { secretOptions } from '../../../src/core/secrets.js';
import { tlsFileProperties } from '../../../src/core/tls.js';

const size = (def: string, description: string) => Size({ default: def, description: `${description} Bytes, or e.g. "512KiB", "64MB".` });
const duration = (def: string, description: string) => Duration({ default: def, description: `${description} E.g. "250ms", "5s", "1m".` });
const strict = { additionalProperties: false } as const;

export const kafkaOptions = Type.Object(
  {
    brokers: Type.Array(Type.String({ pattern: '^\\S+:[0-9]+$', errorMessage: 'expected host:port, e.g. "127.0.0.1:9092"' }), {
      minItems: 1,
      default: ['127.0.0.1:9092'],
      description: 'Bootstrap brokers, host:port (the port is required).',
    }),
    client_id: Type.String({ default: 'netagent', description: 'Kafka client id (broker logs, quotas).' }),
    topic: Type.String({
      minLength: 1,
      default: 'netagent.{{event.dataset}}',
      description:
        'Topic, a template: {{field.path}} is replaced by the event field (e.g. netagent.{{event.dataset}}), ' +
        '{{path|fallback}} uses fallback when the field is missing. Characters Kafka does not allow become "_".',
    }),
    key: Type.String({
      default: '{{host.name}}',
      description: 'Message key, a template like topic. Empty: no key (each batch to one partition, the next for the next batch).',
    }),
    headers: Type.Record(Type.String({ minLength: 1 }), Type.String(), {
      default: {},
      description: 'Message headers: name to template, e.g. {dataset: "{{event.dataset}}"}.',
    }),
    compression: StringEnum(['none', 'gzip', 'snappy', 'lz4', 'zstd'], { default: 'lz4', description: 'Batch compression codec.' }),
    acks: Type.Union([Type.Literal('all'), Type.Literal(-1), Type.Literal(1), Type.Literal(0)], {
      default: 'all',
      description: 'all (-1): every in-sync replica; 1: the leader only; 0: no acknowledgement (no delivery guarantee).',
    }),
    idempotent: Type.Boolean({
      default: false,
      description:
        'Idempotent producer: a batch sent again after a failure is the very same batch (producer id, sequence ' +
        'numbers), which the broker stores once. Needs acks all; one request in flight.',
    }),
    max_in_flight: Type.Integer({
      minimum: 1,
      maximum: 16,
      default: 4,
      description:
        'Produce requests in flight at once while a backlog is waiting (1 with idempotent). The spool still ' +
        'commits in order; after a failure everything in flight is sent again (counted as possible duplicates).',
    }),
    create_topics: Type.Boolean({
      default: true,
      description: 'Create a missing topic (admin API, broker default partitions and replication); else report it.',
    }),
    batch: Type.Object(
      {
        max_events: Type.Integer({ minimum: 1, default: 5000, description: 'Events per produce request at most.' }),
        max_bytes: size('960KiB', 'Bytes per batch at most (before compression); keep it under the broker message.max.bytes (1 MiB by default).'),
        linger: duration('5ms', 'How long to wait for more events before sending a batch that is not full (5ms like Kafka 4 and librdkafka).'),
      },
      { ...strict, default: {} },
    ),
    timeouts: Type.Object(
      {
        connect: duration('5s', 'TCP/TLS connect and authentication timeout.'),
        request: duration('30s', 'Time to wait for a broker response.'),
        ack: duration('30s', 'Broker-side time to wait for acks from replicas.'),
      },
      { ...strict, default: {} },
    ),
    ssl: Type.Object(
      {
        enabled: Type.Boolean({ default: false, description: 'Connect with TLS.' }),
        ...tlsFileProperties,
      },
      { ...strict, default: {} },
    ),
    sasl: Type.Optional(
      Type.Object(
        {
          mechanism: StringEnum(['plain', 'scram-sha-256', 'scram-sha-512'], {
            description: 'SASL mechanism.',
          }),
          username: Type.String({ minLength: 1 }),
          ...secretOptions('password', 'Password'),
        },
        { ...strict, description: 'SASL authentication; exactly one of password, password_env, password_file.' },
      ),
    ),
    ...spooledDeliveryOptions({
      destination: 'Kafka',
      retryMax: 'Longest backoff. After a connection error the broker ports are also probed every 500ms, ending the backoff early.',
      refusedForGood: 'that Kafka refused for good (a topic it will not create: an invalid or colliding name)',
    }),
  },
  strict,
);

export type KafkaSinkOptions = Static<typeof kafkaOptions>;

export const kafkaSink = defineSink({
  kind: 'sink',
  type: 'kafka',
  description: 'Apache Kafka: at-least-once through a disk spool, templated topic/key, compression, TLS, SASL',
  options: kafkaOptions,
  sample: fileURLToPath(new URL('./sample.yaml', import.meta.url)),
  secrets: ['sasl.password', 'ssl.key_password'],
  check: (ctx) => import('./check.js').then((m) => m.checkKafkaOptions(ctx)),
  async load() {
    return (await import('./sink.js')).KafkaSink;
  },
});

export default kafkaSink;
