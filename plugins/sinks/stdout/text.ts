/** The `text` format: `<time> <dataset> key=value …`, flattened, envelope fields left out. */
const ENVELOPE = new Set(['@timestamp', 'event', 'host', 'agent', 'labels']);

/**
 * C0 and C1 control characters and DEL: raw on a terminal they are commands (an event field with
 * `\x1b]2;…\x07` retitles the window, `\x1b[2J` clears it). JSON.stringify escapes C0 only.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const UNESCAPED_BY_JSON = /[\u007f-\u009f]/g;

/** JSON text with the control characters JSON leaves raw escaped too. */
function jsonShown(value: unknown): string {
  return JSON.stringify(value).replace(UNESCAPED_BY_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A string as text shows it: bare when plain, else quoted with every control character escaped. */
function shown(text: string): string {
  if (text !== '' && !/[\s"=]/.test(text) && !CONTROL.test(text)) return text;
  return jsonShown(text);
}

function flatten(prefix: string, value: unknown, out: string[]): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(prefix ? `${prefix}.${k}` : k, v, out);
  } else {
    const text = typeof value === 'string' ? shown(value) : jsonShown(value);
    out.push(`${CONTROL.test(prefix) ? shown(prefix) : prefix}=${text}`);
  }
}

export function formatText(line: string): string {
  const event = JSON.parse(line) as Record<string, unknown> & { '@timestamp': string; event: { dataset: string } };
  const parts: string[] = [];
  for (const [k, v] of Object.entries(event)) if (!ENVELOPE.has(k)) flatten(k, v, parts);
  return `${event['@timestamp']} ${event.event.dataset} ${parts.join(' ')}`;
}
