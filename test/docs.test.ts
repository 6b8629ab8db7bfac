import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { referenceMarkdown } from '../src/cli/reference.js';
import { builtinPlugins } from '../plugins/index.js';

describe('docs', () => {
  it('docs/configuration.md is what the schemas say (run `npm run docs` after changing an option)', () => {
    expect(readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8')).toBe(referenceMarkdown());
  });

  it('every built-in plugin has its README and sample.yaml, and describes every option', () => {
    for (const m of builtinPlugins) {
      const dir = new URL(`../plugins/${m.kind}s/${m.type}/`, import.meta.url);
      expect(readFileSync(new URL('README.md', dir), 'utf8')).toContain(m.type);
      expect(readFileSync(new URL('sample.yaml', dir), 'utf8')).toContain(`type: ${m.type}`);
      for (const [name, schema] of Object.entries(m.options.properties)) {
        expect(schema.description ?? schema.properties, `${m.type}.${name} has no description`).toBeTruthy();
      }
    }
  });
});
