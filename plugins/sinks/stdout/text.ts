/** The `text` format: `<time> <dataset> key=value …`, flattened, envelope fields left out. */
const ENVELOPE = new Set(['@timestamp', 'event', 'host', 'agent', 'labels']);

function flatten(prefix: string, value: unknown, out: string[]): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(prefix ? `${prefix}.${k}` : k, v, out);
  } else {
    const text = typeof value === 'string' ? (/[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value) : JSON.stringify(value);
    out.push(`${prefix}=${text}`);
  }
}

export function formatText(line: string): string {
  const event = JSON.parse(line) as Record<string, unknown> & { '@timestamp': string; event: { dataset: string } };
  const parts: string[] = [];
  for (const [k, v] of Object.entries(event)) if (!ENVELOPE.has(k)) flatten(k, v, parts);
  return `${event['@timestamp']} ${event.event.dataset} ${parts.join(' ')}`;
}
