// A complete third-party collector in plain JavaScript: load it with
//   plugins: [{path: ./examples/uptime-collector}]
// and configure `- type: uptime`. docs/plugins.md walks through it.
import { defineCollector, Type, TOKENS, withTokens } from 'netagent';

class UptimeCollector {
  constructor(options, procfs) {
    this.options = options;
    this.procfs = procfs;
  }

  async collect(ctx) {
    const text = (await this.procfs.read('uptime'))?.toString() ?? '';
    const [uptime, idle] = text.trim().split(/\s+/).map(Number);
    if (!Number.isFinite(uptime)) {
      ctx.malformed('uptime', 1, text);
      return;
    }
    const fields = { system: { uptime_s: uptime } };
    if (this.options.idle) fields.system.idle_s = idle;
    ctx.emit('uptime.seconds', 'metric', fields);
  }
}
withTokens(UptimeCollector, TOKENS.PluginOptions, TOKENS.ProcFs);

export default defineCollector({
  type: 'uptime',
  kind: 'collector',
  description: 'Seconds since boot, from /proc/uptime (an example plugin).',
  datasets: ['uptime.seconds'],
  options: Type.Object(
    { idle: Type.Boolean({ default: false, description: 'Also report the idle seconds.' }) },
    { additionalProperties: false },
  ),
  load: async () => UptimeCollector,
});
