import { describe, expect, it } from 'vitest';
import { bulkBody, bulkOutcomes, dataStreamDataset, dataStreamType, sanitizeIndex } from './bulk.js';

describe('bulk requests and responses', () => {
  it('names data streams the way the node accepts them', () => {
    expect(dataStreamType('metric')).toBe('metrics');
    expect(dataStreamType('state')).toBe('logs');
    expect(dataStreamDataset('tcp.socket')).toBe('netagent.tcp.socket');
    expect(dataStreamDataset('exec.My-Probe')).toBe('netagent.exec.my_probe'); // "-" separates the name's parts
    expect(sanitizeIndex('_Netagent/tcp:2026.12.03')).toBe('netagent_tcp_2026.12.03');
    expect(sanitizeIndex('')).toBe('netagent');
    expect(Buffer.byteLength(sanitizeIndex('é'.repeat(300)))).toBeLessThanOrEqual(255);
  });

  it('writes one create action per document, with the id when there is one', () => {
    const body = bulkBody([
      { destination: 'a', key: 'x-1', value: '{"n":1}' },
      { destination: 'a', key: null, value: Buffer.from('{"n":2}') },
    ]).toString();
    expect(body).toBe('{"create":{"_index":"a","_id":"x-1"}}\n{"n":1}\n{"create":{"_index":"a"}}\n{"n":2}\n');
  });

  it('reads each item: stored, already there, retry later, rejected with the field it names', () => {
    // As OpenSearch 2.19 answered (filter_path=errors,items.*.status,items.*.error).
    const response = {
      errors: true,
      items: [
        { create: { status: 201 } },
        { create: { status: 409, error: { type: 'version_conflict_engine_exception', reason: '[x-2]: version conflict, document already exists' } } },
        { create: { status: 429, error: { type: 'cluster_block_exception', reason: 'index [b] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark' } } },
        {
          create: {
            status: 400,
            error: {
              type: 'mapper_parsing_exception',
              reason: 'failed to parse field [socket.families.ipv4] of type [long] in document with id \'x-4\'.',
              caused_by: { type: 'illegal_argument_exception', reason: 'Cannot parse object as number' },
            },
          },
        },
        { create: { status: 503, error: { type: 'unavailable_shards_exception', reason: 'primary shard is not active' } } },
      ],
    };
    const o = bulkOutcomes(response, 5)!;
    expect(o.map((x) => x.kind)).toEqual(['stored', 'duplicate', 'retry', 'rejected', 'retry']);
    expect(o[3]).toMatchObject({ status: 400, error: { type: 'mapper_parsing_exception', field: 'socket.families.ipv4' } });
    expect(bulkOutcomes({ errors: false }, 3)!.map((x) => x.kind)).toEqual(['stored', 'stored', 'stored']);
    expect(bulkOutcomes({ errors: true, items: [] }, 2)).toBeNull(); // not an answer for these documents
    expect(bulkOutcomes({ error: 'x' }, 1)).toBeNull();
  });
});
