/** Durations (`500ms`, `10s`, `1m`, `1h`) and sizes (`10MB`, `512KiB`, bytes) as written in configs. */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1,
  kb: 1e3, mb: 1e6, gb: 1e9,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3,
  k: 1024, m: 1024 ** 2, g: 1024 ** 3,
};

/**
 * Milliseconds, or undefined when `text` is not a duration. A bare number means seconds. Any
 * finite length is a duration (src/core/timers.ts waits for any); 400 digits of days are not.
 */
export function parseDuration(text: string | number): number | undefined {
  if (typeof text === 'number') return text >= 0 && Number.isFinite(text) ? text * 1000 : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) return undefined;
  const ms = Number(m[1]) * DURATION_UNITS[m[2] ?? 's']!;
  return Number.isFinite(ms) ? ms : undefined;
}

/** Bytes, or undefined when `text` is not a size. */
export function parseSize(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isInteger(text) && text >= 0 ? text : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = SIZE_UNITS[m[2]!.toLowerCase()];
  return unit === undefined ? undefined : Math.floor(Number(m[1]) * unit);
}
