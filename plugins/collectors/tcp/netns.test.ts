/**
 * In a fresh namespace holding every kind of socket (test/helpers/socket-zoo.ts), the tcp
 * collector reading /proc/<pid>/net through a pid inside it gives exactly the tcp rows that
 * `netstat -tanuepW` prints there: addresses, ports, state, queues, user, inode, pid.
 * The tests themselves are shared with the udp collector's: test/helpers/inet-netns-suite.ts.
 */
import { inetCollectorMatchesNetstat, netlinkMatchesProc } from '../../../test/helpers/inet-netns-suite.js';
import { requireNetnsTools } from '../../../test/helpers/netns.js';
import { TcpCollector } from './collector.js';
import { tcpCollector } from './index.js';

requireNetnsTools(['ip', 'netstat', 'ss', 'python3']);

inetCollectorMatchesNetstat({ transport: 'tcp', cls: TcpCollector, manifest: tcpCollector, minRows: 15 });
netlinkMatchesProc({ transport: 'tcp', cls: TcpCollector, manifest: tcpCollector, minRows: 15 });
