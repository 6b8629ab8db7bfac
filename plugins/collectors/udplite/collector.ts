import { inetCollectorClass } from '../../../src/collect/inet-plugin.js';

/** The udplite collector: the shared /proc/net socket reader bound to transport `udplite`. */
export const UdpliteCollector = inetCollectorClass('udplite');
