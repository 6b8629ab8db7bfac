/**
 * Compression codecs for kafkajs beyond its built-in gzip: snappy (napi-rs `snappy`), lz4 (`lz4-napi`,
 * LZ4 frame format as Kafka's message format v2 expects) and zstd (`@bokuweb/zstd-wasm`, WebAssembly).
 * All three ship their binaries inside npm packages (no build, no download at install time).
 * Each codec module is imported only when a sink is configured with that compression.
 */
import type { CompressionTypes as CT } from 'kafkajs';

export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

interface Encoder {
  buffer: Buffer;
}
interface Codec {
  compress(encoder: Encoder): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** xerial snappy-java stream header: what Java producers may write. Raw blocks are what we write. */
/**
 * Imports a codec package by a name that bundlers cannot see, so it always loads from node_modules at run
 * time: two of them carry native `.node` files and one a `.wasm` file found next to its JavaScript, none of
 * which survives bundling.
 */
async function importPackage<T>(name: string): Promise<T> {
  const mod = (await import(/* @vite-ignore */ name)) as { default?: unknown };
  // CommonJS packages: Node's ESM interop may expose some exports only on `default`.
  return (mod.default && typeof mod.default === 'object' ? { ...mod, ...mod.default } : mod) as T;
}

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

async function snappyCodec(): Promise<Codec> {
  const snappy = await importPackage<typeof import('snappy')>('snappy');
  const uncompress = (b: Buffer): Buffer => snappy.uncompressSync(b, { asBuffer: true }) as Buffer;
  return {
    async compress(encoder) {
      return snappy.compressSync(encoder.buffer);
    },
    async decompress(buffer) {
      if (buffer.length >= 16 && buffer.subarray(0, 8).equals(XERIAL_MAGIC)) {
        const parts: Buffer[] = [];
        let pos = 16;
        while (pos + 4 <= buffer.length) {
          const len = buffer.readUInt32BE(pos);
          pos += 4;
          parts.push(uncompress(buffer.subarray(pos, pos + len)));
          pos += len;
        }
        return Buffer.concat(parts);
      }
      return uncompress(buffer);
    },
  };
}

async function lz4Codec(): Promise<Codec> {
  const lz4 = await importPackage<typeof import('lz4-napi')>('lz4-napi');
  return {
    async compress(encoder) {
      return lz4.compressFrame(encoder.buffer);
    },
    async decompress(buffer) {
      return lz4.decompressFrame(buffer);
    },
  };
}

async function zstdCodec(level: number): Promise<Codec> {
  const zstd = await importPackage<typeof import('@bokuweb/zstd-wasm')>('@bokuweb/zstd-wasm');
  await zstd.init();
  const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  return {
    async compress(encoder) {
      // Copy: the result is a view into the wasm heap, reused by the next call.
      return Buffer.from(zstd.compress(encoder.buffer, level));
    },
    async decompress(buffer) {
      return Buffer.from(asBuffer(zstd.decompress(buffer)));
    },
  };
}

/**
 * Registers the codec for `name` with kafkajs (once per process) and returns the kafkajs compression
 * type to pass to send().
 */
export async function registerCodec(
  kafkajs: { CompressionTypes: typeof CT; CompressionCodecs: Record<number, () => unknown> },
  name: CompressionName,
): Promise<CT> {
  const { CompressionTypes, CompressionCodecs } = kafkajs;
  switch (name) {
    case 'none':
      return CompressionTypes.None;
    case 'gzip':
      return CompressionTypes.GZIP;
    case 'snappy': {
      if (!registered.has(name)) {
        const c = await snappyCodec();
        CompressionCodecs[CompressionTypes.Snappy] = () => c;
        registered.add(name);
      }
      return CompressionTypes.Snappy;
    }
    case 'lz4': {
      if (!registered.has(name)) {
        const c = await lz4Codec();
        CompressionCodecs[CompressionTypes.LZ4] = () => c;
        registered.add(name);
      }
      return CompressionTypes.LZ4;
    }
    case 'zstd': {
      if (!registered.has(name)) {
        const c = await zstdCodec(3);
        CompressionCodecs[CompressionTypes.ZSTD] = () => c;
        registered.add(name);
      }
      return CompressionTypes.ZSTD;
    }
  }
}

const registered = new Set<CompressionName>();
