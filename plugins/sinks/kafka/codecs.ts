/**
 * Record batch compression: gzip (Node's zlib), snappy (napi-rs `snappy`), lz4 (`lz4-napi`, the LZ4 frame
 * format Kafka's message format v2 expects) and zstd (`@bokuweb/zstd-wasm`, WebAssembly). All ship their
 * binaries inside npm packages (no build, no download at install time). gzip, snappy and lz4 compress on
 * libuv's thread pool, so the event loop goes on encoding the next batch meanwhile. Each codec package is
 * imported only when a sink is configured with it.
 */
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { importModule } from '../../../src/core/import-module.js';
import type { Compressor } from './record-batch.js';

export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** Codec ids in the record batch attributes. */
const ATTRIBUTE = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

/**
 * Imports a codec package by a name that bundlers cannot see, so it always loads from node_modules at run
 * time: two of them carry native `.node` files and one a `.wasm` file found next to its JavaScript, none of
 * which survives bundling.
 */
async function importPackage<T>(name: string): Promise<T> {
  const mod = await importModule<{ default?: unknown }>(name);
  // CommonJS packages: Node's ESM interop may expose some exports only on `default`.
  return (mod.default && typeof mod.default === 'object' ? { ...mod, ...mod.default } : mod) as T;
}

/**
 * The compressor for `name` (null for none), made once per process: a second `init()` of the zstd
 * WebAssembly module re-instantiates it under the first one's feet (its compress() then returns
 * garbage), and every sink instance shares the codec anyway.
 */
export function loadCompressor(name: CompressionName): Promise<Compressor | null> {
  let c = compressors.get(name);
  if (!c) {
    c = makeCompressor(name);
    compressors.set(name, c);
    c.catch(() => compressors.delete(name)); // a failed load may be retried
  }
  return c;
}

const compressors = new Map<CompressionName, Promise<Compressor | null>>();

async function makeCompressor(name: CompressionName): Promise<Compressor | null> {
  switch (name) {
    case 'none':
      return null;
    case 'gzip': {
      const gzip = promisify(zlib.gzip);
      return { attribute: ATTRIBUTE.gzip, compress: (records) => gzip(records) };
    }
    case 'snappy': {
      // Raw snappy blocks, as kafkajs and librdkafka write them; Java reads them too.
      const snappy = await importPackage<typeof import('snappy')>('snappy');
      return { attribute: ATTRIBUTE.snappy, compress: (records) => snappy.compress(records) };
    }
    case 'lz4': {
      const lz4 = await importPackage<typeof import('lz4-napi')>('lz4-napi');
      return { attribute: ATTRIBUTE.lz4, compress: (records) => lz4.compressFrame(records) };
    }
    case 'zstd': {
      const zstd = await importPackage<typeof import('@bokuweb/zstd-wasm')>('@bokuweb/zstd-wasm');
      await zstd.init();
      return {
        attribute: ATTRIBUTE.zstd,
        // Copied: the result is a view into the wasm heap, reused by the next call.
        compress: async (records) => Buffer.from(zstd.compress(records, 3)),
      };
    }
  }
}
