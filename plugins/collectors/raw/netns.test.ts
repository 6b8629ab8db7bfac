/**
 * In a fresh namespace holding every kind of socket (test/helpers/socket-zoo.ts), the raw
 * collector reading /proc/<pid>/net through a pid inside it gives exactly the rows that
 * `netstat -wanepW` prints there: addresses, ports, state, queues, user, inode, pid.
 * The tests themselves are shared with the tcp and udp collectors': test/helpers/inet-netns-suite.ts.
 */
import { inetCollectorMatchesNetstat } from '../../../test/helpers/inet-netns-suite.js';
import { requireNetnsTools } from '../../../test/helpers/netns.js';
import { RawCollector } from './collector.js';
import { rawCollector } from './index.js';

requireNetnsTools(['ip', 'netstat', 'python3']);

inetCollectorMatchesNetstat({ transport: 'raw', cls: RawCollector, manifest: rawCollector, minRows: 4 });
