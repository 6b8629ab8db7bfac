/** Kafka topic names: [a-zA-Z0-9._-], at most 249 characters, not "." or "..". */
export function sanitizeTopic(name: string): string {
  let t = name.replace(/[^a-zA-Z0-9._-]/g, '_').slice(0, 249);
  if (t === '' || t === '.' || t === '..') t = 'netagent';
  return t;
}
