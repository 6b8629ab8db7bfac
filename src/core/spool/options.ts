/**
 * The one option schema of a sink's disk spool (`options.spool` of kafka and elasticsearch), and
 * the options every sink that delivers from a spool shares. Manifests import this file: it loads
 * nothing of the spool itself (spoolFrom() in spool.ts builds one). A sink keeps its spool in `spool.path`, or by default in
 * `<agent.state_dir>/spool/<type>-<instance id>`.
 */
import * as path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import type { AgentSettings } from '../config/schema.js';
import { Duration, Size, StringEnum } from '../config/types.js';
import { deadLetterOptions } from '../dead-letter.js';
import { stateDirOf } from '../identity.js';
import type { PluginInstance } from '../plugin.js';
import { retryOptions } from '../retry.js';

export function spoolOptions(destination: string) {
  return Type.Object(
    {
      path: Type.String({
        default: '',
        description: 'Spool directory, one per sink instance. Default: <agent.state_dir>/spool/<type>-<instance id>.',
      }),
      max_size: Size({ default: '256MB', description: 'Bound on unacknowledged events on disk. Bytes, or e.g. "512KiB", "64MB".' }),
      when_full: StringEnum(['block', 'drop_oldest', 'drop_newest'], {
        default: 'block',
        description:
          'When max_size is reached or the disk is full. block: write() waits (then fails retriably, so the pipeline queue fills and backs up); ' +
          'drop_oldest: discard the oldest spooled events; drop_newest: discard the incoming ones. Drops are counted.',
      }),
      block_timeout: Duration({ default: '5s', description: 'Under block: how long write() waits for room before failing retriably.' }),
      fsync: StringEnum(['batch', 'interval', 'never'], {
        default: 'interval',
        description:
          'When spooled events are flushed to the disk. Spooled events survive agent crashes and restarts in every mode; ' +
          'this is about power loss. batch: before write() returns (a disk flush per batch, the slowest); ' +
          'interval: in the background, at most every fsync_interval (a power loss may lose that much, like the pipeline queue in memory); ' +
          'never: when the kernel writes back.',
      }),
      fsync_interval: Duration({ default: '1s', description: 'With fsync interval: how often at most.' }),
    },
    {
      additionalProperties: false,
      default: {},
      description: `Disk buffer of events not yet acknowledged by ${destination}: delivery is at-least-once across outages and restarts.`,
    },
  );
}

export type SpoolSettings = Static<ReturnType<typeof spoolOptions>>;

/** The directory a sink instance's spool lives in. */
export function spoolDir(settings: SpoolSettings, instance: PluginInstance, agent?: AgentSettings): string {
  if (settings.path) return path.resolve(settings.path);
  return path.resolve(agent ? stateDirOf(agent) : '.state', 'spool', `${instance.type}-${instance.id}`);
}

/**
 * The options every sink that delivers from a spool shares, and means the same by: `retry`,
 * `dead_letter`, `spool` and `close_timeout` (kafka, elasticsearch).
 */
export function spooledDeliveryOptions(p: { destination: string; retryMax: string; refusedForGood: string }) {
  return {
    retry: retryOptions(p.retryMax),
    dead_letter: deadLetterOptions(p.refusedForGood),
    spool: spoolOptions(p.destination),
    close_timeout: Duration({
      default: '4s',
      description: 'On close, how long to keep delivering the spool before leaving the rest for the next start. E.g. "250ms", "5s", "1m".',
    }),
  };
}
