/** The raw collector over a captured namespace; netstat -wanWe, captured with it, is the oracle. */
import { fileURLToPath } from 'node:url';
import { inetCaptureMatchesNetstat } from '../../../test/helpers/inet-capture-suite.js';
import { RawCollector } from './collector.js';
import { rawCollector } from './index.js';

inetCaptureMatchesNetstat({ transport: 'raw', cls: RawCollector, manifest: rawCollector, dir: fileURLToPath(new URL('./testdata/netns-basic', import.meta.url)) });
