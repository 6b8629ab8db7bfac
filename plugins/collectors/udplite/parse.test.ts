/** The udplite collector over a captured namespace; netstat -UanWe, captured with it, is the oracle. */
import { fileURLToPath } from 'node:url';
import { inetCaptureMatchesNetstat } from '../../../test/helpers/inet-capture-suite.js';
import { UdpliteCollector } from './collector.js';
import { udpliteCollector } from './index.js';

inetCaptureMatchesNetstat({ transport: 'udplite', cls: UdpliteCollector, manifest: udpliteCollector, dir: fileURLToPath(new URL('./testdata/netns-basic', import.meta.url)) });
