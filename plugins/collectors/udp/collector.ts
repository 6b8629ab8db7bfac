import { inetCollectorClass } from '../../../src/collect/inet-plugin.js';

/** The udp collector: the shared /proc/net socket reader bound to transport `udp`. */
export const UdpCollector = inetCollectorClass('udp');
