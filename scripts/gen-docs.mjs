// Regenerates docs/configuration.md from the option schemas (run after `npm run build`).
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { referenceMarkdown } from '../dist/src/cli/reference.js';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), referenceMarkdown());
console.log('wrote docs/configuration.md');
