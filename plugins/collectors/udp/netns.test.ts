/**
 * In a fresh namespace holding every kind of socket (test/helpers/socket-zoo.ts), the udp
 * collector reading /proc/<pid>/net through a pid inside it gives exactly the udp rows that
 * `netstat -tanuepW` prints there: addresses, ports, state, queues, user, inode, pid.
 * The tests themselves are shared with the tcp collector's: test/helpers/inet-netns-suite.ts.
 */
import { inetCollectorMatchesNetstat, netlinkMatchesProc } from '../../../test/helpers/inet-netns-suite.js';
import { requireNetnsTools } from '../../../test/helpers/netns.js';
import { UdpCollector } from './collector.js';
import { udpCollector } from './index.js';

requireNetnsTools(['ip', 'netstat', 'ss', 'python3']);

inetCollectorMatchesNetstat({ transport: 'udp', cls: UdpCollector, manifest: udpCollector, minRows: 4 });
netlinkMatchesProc({ transport: 'udp', cls: UdpCollector, manifest: udpCollector, minRows: 4 });
