/**
 * The capture tests the udplite and raw collectors share: over a namespace's /proc/net files
 * captured together with netstat's output (testdata/netns-basic), the collector lists exactly
 * netstat's rows, and its summary counts them per state and family.
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { NETSTAT_FLAG, type Transport } from '../../src/collect/inet-options.js';
import { optionsWithDefaults } from '../../src/collect/options-defaults.js';
import { SelfProcFs } from '../../src/core/procfs.js';
import type { CollectorManifest } from '../../src/core/plugin.js';
import { SocketOwners } from '../../src/core/socket-owners.js';
import { collectOnce } from './collect.js';
import { inetEventRow, netstatState, parseNetstatInet, rowKey, type InetToolRow } from './netstat-oracle.js';
import type { SocketCollectorClass } from './socket-zoo.js';

export interface InetCaptureSuite {
  readonly transport: Transport;
  readonly cls: SocketCollectorClass;
  readonly manifest: CollectorManifest;
  /** The capture folder: `self/net/<transport>{,6}` and `netstat-<flag>anWe.txt`. */
  readonly dir: string;
}

const sorted = (rows: InetToolRow[]) => [...rows].sort((a, b) => rowKey(a).localeCompare(rowKey(b)));

export function inetCaptureMatchesNetstat({ transport, cls, manifest, dir }: InetCaptureSuite): void {
  const flag = NETSTAT_FLAG[transport];
  const tool = parseNetstatInet(readFileSync(`${dir}/netstat-${flag}anWe.txt`, 'utf8'), { e: true });
  const collector = (options: Record<string, unknown>) =>
    new cls(optionsWithDefaults(manifest.options, options) as never, new SelfProcFs(dir), new SocketOwners(dir), pino({ level: 'silent' }), {
      id: transport,
      type: transport,
    });

  describe(`${transport} collector on the netns-basic capture`, () => {
    it(`lists exactly the rows of netstat -${flag}anWe`, async () => {
      const { events, malformed } = await collectOnce(collector({}));
      expect(malformed).toEqual([]);
      expect(tool.length).toBeGreaterThanOrEqual(4);
      expect(sorted(events.map(inetEventRow).map(({ timer: _t, ...r }) => r))).toEqual(sorted(tool));
      expect(events.every((e) => e.dataset === `${transport}.socket` && (e.fields as { network: { transport: string } }).network.transport === transport)).toBe(true);
    });

    it('summary: counts per state and family', async () => {
      const { events } = await collectOnce(collector({ mode: 'summary' }));
      const f = events[0]!.fields as { socket: { families: Record<string, Record<string, number>> } };
      expect(events[0]!.dataset).toBe(`${transport}.summary`);
      for (const [family, v6] of [['ipv4', false], ['ipv6', true]] as const) {
        const counts = f.socket.families[family]!;
        for (const [state, n] of Object.entries(counts)) {
          expect(n, `${family} ${state}`).toBe(tool.filter((r) => r.proto.endsWith('6') === v6 && r.state === netstatState(transport, state)).length);
        }
        expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(tool.filter((r) => r.proto.endsWith('6') === v6).length);
      }
    });
  });
}
