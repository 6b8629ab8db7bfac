/** State and timer names of /proc/net/{tcp,udp} as netstat prints them (no dependencies). */

/** Kernel TCP state numbers (include/net/tcp_states.h) to netstat's names. */
export const TCP_STATE_NAMES: readonly string[] = [
  'UNKNOWN',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
];
/** Every state name a tcp socket can have, in kernel order. */
export const TCP_STATES = TCP_STATE_NAMES.slice(1);
/** The states a udp socket can have (the kernel reuses TCP's numbers). */
export const UDP_STATES: readonly string[] = ['ESTABLISHED', 'CLOSE'];

export function stateName(state: number): string {
  return TCP_STATE_NAMES[state] ?? 'UNKNOWN';
}

/**
 * A UDP socket's state as netstat's udp_do_one names it: ESTABLISHED, CLOSE (netstat prints a
 * blank), and UNKNOWN for any other number.
 */
export function udpStateName(state: number): string {
  return state === 1 ? 'ESTABLISHED' : state === 7 ? 'CLOSE' : 'UNKNOWN';
}

/** netstat -o's timer names by the `tr` column. */
const TIMER_NAMES = ['off', 'on', 'keepalive', 'timewait', 'probe'];
export function timerName(tr: number): string {
  return TIMER_NAMES[tr] ?? `unkn-${tr}`;
}
/** USER_HZ: the kernel prints tm->when in clock ticks (jiffies_delta_to_clock_t); netstat divides. */
export const CLOCK_TICKS = 100;
