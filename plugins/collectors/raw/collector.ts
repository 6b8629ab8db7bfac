import { inetCollectorClass } from '../../../src/collect/inet-plugin.js';

/** The raw collector: the shared /proc/net socket reader bound to transport `raw`. */
export const RawCollector = inetCollectorClass('raw');
