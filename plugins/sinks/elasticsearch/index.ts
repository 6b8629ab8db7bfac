/**
 * The elasticsearch sink's manifest: options schema and a lazy loader. Works with Elasticsearch 8.x
 * and OpenSearch 2.x (the same _bulk API).
 */
import { Type, type Static } from '@sinclair/typebox';
import { fileURLToPath } from 'node:url';
import { Duration, Size, StringEnum } from '../../../src/core/config/types.js';
import { defineSink } from '../../../src/core/plugin.js';
import { secretOptions } from '../../../src/core/secrets.js';
import { spooledDeliveryOptions } from '../../../src/core/spool/options.js';
import { tlsFileProperties } from '../../../src/core/tls.js';

const strict = { additionalProperties: false } as const;
const duration = (def: string, description: string) => Duration({ default: def, description: `${description} E.g. "250ms", "5s", "1m".` });

export const elasticsearchOptions = Type.Object(
  {
    hosts: Type.Array(Type.String({ pattern: '^https?://[^/]+', errorMessage: 'expected a URL such as http://127.0.0.1:9200' }), {
      minItems: 1,
      default: ['http://127.0.0.1:9200'],
      description: 'Node URLs (http:// or https://, an optional path prefix). Requests go to one; when it fails, to the next.',
    }),
    auth: Type.Object(
      {
        username: Type.Optional(Type.String({ minLength: 1, description: 'Basic authentication user; with one of password, password_env, password_file.' })),
        ...secretOptions('password', 'Password'),
        ...secretOptions('api_key', 'API key: "id:key", or its base64 form as Kibana shows it'),
        ...secretOptions('bearer_token', 'Bearer token (e.g. an OAuth or service account token)'),
      },
      { ...strict, default: {}, description: 'At most one method: basic (username and password), an API key, or a bearer token.' },
    ),
    ssl: Type.Object(tlsFileProperties, { ...strict, default: {}, description: 'TLS for https:// hosts.' }),
    compression: StringEnum(['gzip', 'none'], { default: 'gzip', description: 'Compression of request bodies (gzip level 1, as Beats do).' }),
    data_stream: Type.Object(
      {
        namespace: Type.String({
          default: 'default',
          pattern: '^[^-\\s\\\\/*?"<>|,#:]+$',
          errorMessage: 'expected a data stream namespace: no "-", spaces or \\\\/*?"<>|,#:',
          description: 'The data streams\' namespace: `<type>-netagent.<dataset>-<namespace>`, e.g. prod, fra1.',
        }),
      },
      {
        ...strict,
        default: {},
        description:
          'Unless `index` is set, events go to data streams: `metrics-netagent.<dataset>-<namespace>` for metric events, ' +
          '`logs-netagent.<dataset>-<namespace>` for state rows, with `data_stream.*` added to each document.',
      },
    ),
    index: Type.String({
      default: '',
      description:
        'Write to this index instead of data streams: a template over event fields, e.g. ' +
        '"netagent-{{event.dataset}}-{{+yyyy.MM.dd}}" for daily indices. Lower-cased; characters an index name may not hold become "_".',
    }),
    document_id: Type.String({
      default: '{{agent.ephemeral_id}}-{{event.sequence}}',
      description:
        'Document id, a template. The default names each event uniquely, so a bulk request sent again after a failure stores ' +
        'nothing twice (the node answers "already exists", counted as duplicates). Empty: the node assigns ids (re-sends may duplicate).',
    }),
    setup: Type.Boolean({
      default: false,
      description:
        'Before the first delivery, install the templates and lifecycle policy as `netagent setup elasticsearch` does (idempotent); ' +
        'events wait in the spool until it succeeded, so no data stream is created without its template.',
    }),
    batch: Type.Object(
      {
        max_events: Type.Integer({ minimum: 1, default: 2000, description: 'Events per bulk request at most.' }),
        max_bytes: Size({ default: '5MiB', description: 'Bytes of events per bulk request at most (before compression).' }),
        linger: duration('20ms', 'How long to wait for more events before sending a bulk request that is not full.'),
      },
      { ...strict, default: {} },
    ),
    timeouts: Type.Object(
      {
        request: duration('30s', 'Time to wait for a response (a bulk request included).'),
      },
      { ...strict, default: {} },
    ),
    ...spooledDeliveryOptions({
      destination: 'the node',
      retryMax: 'Longest backoff (a failed request, or items the node refused with 429 or 5xx).',
      refusedForGood: 'the node rejected for good (a mapping conflict…)',
    }),
  },
  strict,
);

export type ElasticsearchSinkOptions = Static<typeof elasticsearchOptions>;

export const elasticsearchSink = defineSink({
  kind: 'sink',
  type: 'elasticsearch',
  description: 'Elasticsearch / OpenSearch: _bulk into data streams, at-least-once through a disk spool, a dead-letter file',
  options: elasticsearchOptions,
  sample: fileURLToPath(new URL('./sample.yaml', import.meta.url)),
  secrets: ['auth.password', 'auth.api_key', 'auth.bearer_token', 'ssl.key_password'],
  check: (ctx) => import('./check.js').then((m) => m.checkElasticsearchOptions(ctx)),
  async load() {
    return (await import('./sink.js')).ElasticsearchSink;
  },
});

export default elasticsearchSink;
