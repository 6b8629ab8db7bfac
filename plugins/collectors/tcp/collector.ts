import { inetCollectorClass } from '../../../src/collect/inet-plugin.js';

/** The tcp collector: the shared /proc/net socket reader bound to transport `tcp`. */
export const TcpCollector = inetCollectorClass('tcp');
