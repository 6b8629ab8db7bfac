/**
 * The built-in plugins. The composition root hands this list to the registry through
 * TOKENS.PluginManifest, exactly as it hands over third-party manifests: there is no other road.
 * Manifests are small; each implementation is loaded only when an instance is configured.
 */
import type { PluginManifest } from '../src/core/plugin.js';
import { fileSink } from './sinks/file/index.js';
import { stdoutSink } from './sinks/stdout/index.js';
import { kafkaSink } from './sinks/kafka/index.js';
import { elasticsearchSink } from './sinks/elasticsearch/index.js';
import { routeCollector } from './collectors/route/index.js';
import { igmpCollector } from './collectors/igmp/index.js';
import { snmpCollector } from './collectors/snmp/index.js';
import { ifaceCollector } from './collectors/iface/index.js';
import { execCollector } from './collectors/exec/index.js';
import { tcpCollector } from './collectors/tcp/index.js';
import { udpCollector } from './collectors/udp/index.js';
import { unixCollector } from './collectors/unix/index.js';
import { softnetCollector } from './collectors/softnet/index.js';
import { conntrackCollector } from './collectors/conntrack/index.js';
import { rawCollector } from './collectors/raw/index.js';
import { udpliteCollector } from './collectors/udplite/index.js';

export const builtinPlugins: readonly PluginManifest[] = [
  stdoutSink,
  fileSink,
  kafkaSink,
  elasticsearchSink,
  routeCollector,
  igmpCollector,
  snmpCollector,
  ifaceCollector,
  execCollector,
  tcpCollector,
  udpCollector,
  unixCollector,
  softnetCollector,
  conntrackCollector,
  rawCollector,
  udpliteCollector,
];
