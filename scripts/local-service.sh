# Shared by scripts/kafka-local.sh and scripts/opensearch-local.sh (sourced, not run). The caller sets
# SERVICE (the name in messages) and PIDFILE, and defines pid_alive: true when the pid file's process is
# alive AND was started from this checkout's run directory (its command line says so).

say() { echo "$SERVICE: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# Dies unless $1 is a Java 17+ binary; $2 says how to point at another one.
check_java() {
  local v
  v="$("$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
  [[ -n "$v" && "$v" -ge 17 ]] || die "Java 17+ needed, found: $("$1" -version 2>&1 | head -1) ($2)"
}

pid_of_file() { cat "$PIDFILE" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Pids listening on TCP port $1 (root sees every process; another user only its own).
port_pids() { ss -Htlnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u; }

describe_port_owner() {
  local pids pid
  pids="$(port_pids "$1")"
  [[ -n "$pids" ]] || { echo "a process this user cannot see"; return; }
  for pid in $pids; do
    echo "pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-160))"
  done
}

# The pid file's process is the one listening on every port given.
owns_ports() {
  local pid p
  pid="$(pid_of_file)"
  for p in "$@"; do port_pids "$p" | grep -qx "$pid" || return 1; done
}

# Before a start: any of the ports already taken means another process (another checkout's service, a
# service left behind by a removed clone) would answer the tests. Never use it by accident.
refuse_taken_ports() {
  local hint="$1" p
  shift
  command -v ss >/dev/null 2>&1 || die "ss not found (Debian: apt-get install -y iproute2)"
  for p in "$@"; do
    port_open "$p" && die "127.0.0.1:$p is already in use by $(describe_port_owner "$p"), not by this checkout's $SERVICE (pid file $PIDFILE): stop that process or pick other ports ($hint)"
  done
  return 0
}

# Status line for a port that answers while this checkout's service does not run.
foreign_or_stopped() {
  if port_open "$1"; then
    echo "foreign: 127.0.0.1:$1 is served by $(describe_port_owner "$1"), not by this checkout's $SERVICE (pid file $PIDFILE)"
  else
    echo "stopped"
  fi
  return 1
}

# After a start: waits until the function named $2 succeeds, as long as the started process lives,
# $1 seconds at most; the remaining arguments are the logs to show when it does not come up.
wait_until_ready() {
  local timeout="$1" ready="$2"
  shift 2
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    # kill -0, not pid_alive: until the launcher has exec'ed, the child's command line is still the script's.
    if ! kill -0 "$(pid_of_file)" 2>/dev/null; then
      tail -n 30 "$@" >&2 2>/dev/null || true
      die "pid $(pid_of_file) exited during start (log: $*)"
    fi
    "$ready" && return 0
    sleep 0.5
  done
  tail -n 30 "$@" >&2 2>/dev/null || true
  die "not serving after ${timeout}s (log: $*)"
}

stop_service() {
  if ! pid_alive; then say "not running"; rm -f "$PIDFILE"; return 0; fi
  local pid; pid="$(pid_of_file)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 60))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then say "no clean shutdown after 60s; SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
    sleep 0.2
  done
  rm -f "$PIDFILE"
  say "stopped"
}

kill_service() {
  if ! pid_alive; then say "not running"; rm -f "$PIDFILE"; return 0; fi
  local pid; pid="$(pid_of_file)"
  kill -KILL "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  rm -f "$PIDFILE"
  say "killed pid $pid"
}
