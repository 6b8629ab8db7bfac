import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { referenceMarkdown } from '../src/cli/reference.js';
import { createRootContainer } from '../src/composition-root.js';
import { planFromText } from '../src/core/config/load.js';
import { builtinPlugins } from '../plugins/index.js';

const root = createRootContainer({ logger: pino({ level: 'silent' }) });

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

  it('every sample.yaml is a valid config (a stdout sink added to collector samples)', async () => {
    for (const m of builtinPlugins) {
      const file = fileURLToPath(new URL(`../plugins/${m.kind}s/${m.type}/sample.yaml`, import.meta.url));
      let text = readFileSync(file, 'utf8');
      if (!/^sinks:/m.test(text)) text += '\nsinks:\n  - type: stdout\n';
      const plan = await planFromText(file, text, root, {});
      expect(plan.collectors.length + plan.sinks.length).toBeGreaterThan(0);
    }
  });

  it("the README's sample config is valid", async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const block = /## A config\s+```yaml\n([\s\S]*?)```/.exec(readme)![1]!;
    const plan = await planFromText('README.md', block, root, {});
    expect(plan.collectors.length).toBeGreaterThan(0);
  });
});
