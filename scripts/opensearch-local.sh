#!/usr/bin/env bash
# A single-node OpenSearch on the loopback interface, without Docker, for tests, benchmarks and trying
# the elasticsearch sink by hand.
#
#   scripts/opensearch-local.sh start    fetch (once), configure, start, wait until the cluster is yellow; idempotent
#   scripts/opensearch-local.sh stop     SIGTERM, wait for a clean shutdown (keeps the data)
#   scripts/opensearch-local.sh kill     SIGKILL (outage tests; `start` afterwards recovers the same data)
#   scripts/opensearch-local.sh status   exit 0 and print "running PID URL" when this checkout's node serves, else exit 1
#   scripts/opensearch-local.sh clean    stop, then delete the run directory (data, logs, config)
#   scripts/opensearch-local.sh fetch    only download and unpack the distribution (e.g. to warm a cache)
#   scripts/opensearch-local.sh log      tail the node log
#
# The distribution is Maven Central's `org.opensearch.distribution.integ-test-zip:opensearch:$VERSION:zip`
# (fetched with mvn, cached under .opensearch/ in the repository, ignored by git). It is the bare server:
# lib/, config/ and one module, transport-netty4. NO plugins and no other modules: no ISM
# (_plugins/_ism), no security plugin (plain HTTP, no users, no TLS), no ingest-common processors, no
# painless or mustache scripts, no reindex module (_reindex, _update_by_query, _delete_by_query), no
# mapper-extras (scaled_float, rank_feature, search_as_you_type). The core REST API is all there:
# _bulk, index and component templates, data streams, aliases, _search with aggregations, _cat.
# Code that talks to this node must cope with the missing ISM (and say so), not assume it.
#
# OpenSearch refuses to run as root: started by root, the node runs as $OPENSEARCH_USER (default
# nobody) with a clean environment, from a copy of the distribution inside the run directory, which that
# user must be able to enter. Everything lives in the run directory:
#   home/ (the distribution), config/ (opensearch.yml, jvm.options), data/, logs/, tmp/, opensearch.pid
# Default run directory: .run/opensearch in this checkout; when the node user cannot enter the checkout
# (a clone under /root or in a `mktemp -d` directory), $TMPDIR/netagent-opensearch-$UID-<checkout id>
# instead. Either way one checkout, one node: `status` accepts only the node whose pid file, command line,
# port and cluster name are this run directory's; a foreign process on the port is an error.
#
# Only 127.0.0.1 is bound: HTTP on $OPENSEARCH_PORT (9200), transport on $OPENSEARCH_TRANSPORT_PORT (9300).
# Single-node discovery; disk allocation thresholds off (small CI disks); action.auto_create_index default.
# Needs Java 17+ (OPENSEARCH_JAVA_HOME, else JAVA_HOME, else the `java` on PATH), Maven (first fetch
# only), curl, setpriv (util-linux) and ss (iproute2). Environment overrides: OPENSEARCH_VERSION,
# OPENSEARCH_PORT, OPENSEARCH_TRANSPORT_PORT, OPENSEARCH_RUN_DIR, OPENSEARCH_CACHE_DIR, OPENSEARCH_USER,
# OPENSEARCH_HEAP (default -Xms512m -Xmx512m), OPENSEARCH_START_TIMEOUT (seconds, default 120).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OPENSEARCH_VERSION="${OPENSEARCH_VERSION:-2.19.6}"
OPENSEARCH_PORT="${OPENSEARCH_PORT:-9200}"
OPENSEARCH_TRANSPORT_PORT="${OPENSEARCH_TRANSPORT_PORT:-9300}"
OPENSEARCH_CACHE_DIR="${OPENSEARCH_CACHE_DIR:-$ROOT/.opensearch}"
OPENSEARCH_USER="${OPENSEARCH_USER:-nobody}"
OPENSEARCH_HEAP="${OPENSEARCH_HEAP:--Xms512m -Xmx512m}"
OPENSEARCH_START_TIMEOUT="${OPENSEARCH_START_TIMEOUT:-120}"
# Names this checkout's node (cluster name, fallback run directory) so two checkouts never pass for each other.
CHECKOUT_ID="$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
CLUSTER="netagent-$CHECKOUT_ID"
DIST="$OPENSEARCH_CACHE_DIR/opensearch-$OPENSEARCH_VERSION"
URL="http://127.0.0.1:$OPENSEARCH_PORT"
SERVICE=opensearch-local
# shellcheck source=scripts/local-service.sh
source "$ROOT/scripts/local-service.sh"

# As root, commands of the node run as OPENSEARCH_USER; as anyone else, as themselves.
if [[ "$(id -u)" -eq 0 ]]; then
  NODE_UID="$(id -u "$OPENSEARCH_USER" 2>/dev/null)" \
    || die "user $OPENSEARCH_USER does not exist (OpenSearch refuses root; create one, e.g. useradd --system opensearch, and set OPENSEARCH_USER=opensearch)"
  NODE_GID="$(id -g "$OPENSEARCH_USER")"
  command -v setpriv >/dev/null 2>&1 || die "setpriv not found (Debian: apt-get install -y util-linux)"
  AS_NODE=(setpriv --reuid="$NODE_UID" --regid="$NODE_GID" --clear-groups --)
else
  NODE_UID="$(id -u)"
  NODE_GID="$(id -g)"
  AS_NODE=()
fi
as_node() { "${AS_NODE[@]}" "$@"; }

if [[ -n "${OPENSEARCH_RUN_DIR:-}" ]]; then
  RUN="$OPENSEARCH_RUN_DIR"
elif as_node test -x "$ROOT"; then
  RUN="$ROOT/.run/opensearch"
else
  RUN="${TMPDIR:-/tmp}/netagent-opensearch-$(id -u)-$CHECKOUT_ID"
fi
HOME_DIR="$RUN/home"
CONF="$RUN/config"
DATA="$RUN/data"
LOGS="$RUN/logs"
PIDFILE="$RUN/opensearch.pid"
LOGFILE="$LOGS/$CLUSTER.log"

java_home() {
  local home="${OPENSEARCH_JAVA_HOME:-${JAVA_HOME:-}}"
  if [[ -z "$home" ]]; then
    local java
    java="$(command -v java 2>/dev/null)" \
      || die "java not found (OpenSearch needs Java 17+; Debian: apt-get install -y openjdk-17-jre-headless, or set OPENSEARCH_JAVA_HOME)"
    home="$(dirname "$(dirname "$(readlink -f "$java")")")"
  fi
  [[ -x "$home/bin/java" ]] || die "no java at $home/bin/java (set OPENSEARCH_JAVA_HOME to a Java 17+ home)"
  check_java "$home/bin/java" "set OPENSEARCH_JAVA_HOME"
  echo "$home"
}

fetch() {
  if [[ -f "$DIST/.complete" ]]; then return 0; fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found (Debian: apt-get install -y maven)"
  command -v unzip >/dev/null 2>&1 || die "unzip not found (Debian: apt-get install -y unzip)"
  local artifact="org.opensearch.distribution.integ-test-zip:opensearch:$OPENSEARCH_VERSION:zip"
  say "fetching $artifact from Maven Central into $OPENSEARCH_CACHE_DIR"
  rm -rf "$DIST.tmp" && mkdir -p "$DIST.tmp"
  mvn -B -q -Dmaven.repo.local="$OPENSEARCH_CACHE_DIR/m2" dependency:copy \
    -Dartifact="$artifact" -DoutputDirectory="$DIST.tmp" >&2 || die "mvn dependency:copy of $artifact failed"
  unzip -q "$DIST.tmp/opensearch-$OPENSEARCH_VERSION.zip" -d "$DIST.tmp" || die "unpacking the distribution failed"
  [[ -d "$DIST.tmp/opensearch-$OPENSEARCH_VERSION/lib" ]] || die "unexpected zip layout in $DIST.tmp"
  # The zip's config/ is 0640: readable by all, so that any user's run directory can copy it.
  chmod -R a+rX "$DIST.tmp/opensearch-$OPENSEARCH_VERSION"
  rm -rf "$DIST" && mv "$DIST.tmp/opensearch-$OPENSEARCH_VERSION" "$DIST" && rm -rf "$DIST.tmp"
  touch "$DIST/.complete"
}

# Alive and started from this run directory: the launcher script or the JVM (its -Dopensearch.path.home).
pid_alive() {
  local pid
  pid="$(pid_of_file)" || return 1
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$HOME_DIR/"
}

# The node answering on the HTTP port is this checkout's (cluster name) and its cluster is yellow or green.
healthy() {
  local body
  body="$(curl -sf --max-time 5 "$URL/_cluster/health?wait_for_status=yellow&timeout=${1:-1s}" 2>/dev/null)" || return 1
  [[ "$body" == *"\"cluster_name\":\"$CLUSTER\""* && "$body" != *'"timed_out":true'* ]]
}

write_config() {
  mkdir -p "$RUN"
  as_node test -x "$RUN" \
    || die "the node runs as $OPENSEARCH_USER (OpenSearch refuses root) and cannot enter $RUN: set OPENSEARCH_RUN_DIR to a directory it can reach (e.g. /tmp/netagent-opensearch) or make the parents of $RUN searchable (chmod o+x)"
  if [[ "$(cat "$HOME_DIR/.version" 2>/dev/null)" != "$OPENSEARCH_VERSION" ]]; then
    # A copy, not the cache itself: the cache may sit where the node user cannot read (a checkout under /root).
    rm -rf "$HOME_DIR" "$HOME_DIR.tmp"
    { cp -a "$DIST" "$HOME_DIR.tmp" && chmod -R a+rX "$HOME_DIR.tmp" && mv "$HOME_DIR.tmp" "$HOME_DIR"; } \
      || die "copying the distribution from $DIST into $HOME_DIR failed"
    echo "$OPENSEARCH_VERSION" >"$HOME_DIR/.version"
  fi
  mkdir -p "$CONF" "$DATA" "$LOGS" "$RUN/tmp"
  cp "$HOME_DIR/config/log4j2.properties" "$CONF/"
  # The distribution's JVM options, with its relative paths (the working directory) moved into the run
  # directory and its heap replaced by OPENSEARCH_HEAP.
  sed -e '/^-Xm[sx]/d' -e "s|HeapDumpPath=data|HeapDumpPath=$DATA|" -e "s|logs/|$LOGS/|g" \
    "$HOME_DIR/config/jvm.options" >"$CONF/jvm.options"
  mkdir -p "$CONF/jvm.options.d"
  tr ' ' '\n' <<<"$OPENSEARCH_HEAP" | sed '/^$/d' >"$CONF/jvm.options.d/heap.options"
  cat >"$CONF/opensearch.yml" <<EOF
# Written by scripts/opensearch-local.sh on every start; edits are lost.
cluster.name: $CLUSTER
node.name: netagent-local
discovery.type: single-node
network.host: 127.0.0.1
http.port: $OPENSEARCH_PORT
transport.port: $OPENSEARCH_TRANSPORT_PORT
path.data: $DATA
path.logs: $LOGS
cluster.routing.allocation.disk.threshold_enabled: false
EOF
  [[ "$(id -u)" -ne 0 ]] || chown -R "$NODE_UID:$NODE_GID" "$CONF" "$DATA" "$LOGS" "$RUN/tmp"
  as_node test -w "$DATA" || die "$OPENSEARCH_USER cannot write $DATA"
}

node_ready() {
  port_open "$OPENSEARCH_PORT" && healthy 2s || return 1
  owns_ports "$OPENSEARCH_PORT" "$OPENSEARCH_TRANSPORT_PORT" \
    || die "$URL answers, but not from pid $(pid_of_file): $(describe_port_owner "$OPENSEARCH_PORT")"
}

start() {
  local began=$SECONDS
  command -v curl >/dev/null 2>&1 || die "curl not found (Debian: apt-get install -y curl)"
  if pid_alive; then
    if healthy && owns_ports "$OPENSEARCH_PORT" "$OPENSEARCH_TRANSPORT_PORT"; then say "already running (pid $(pid_of_file)) on $URL"; return 0; fi
    say "pid $(pid_of_file) exists but does not serve yet; waiting"
  else
    refuse_taken_ports "OPENSEARCH_PORT, OPENSEARCH_TRANSPORT_PORT" "$OPENSEARCH_PORT" "$OPENSEARCH_TRANSPORT_PORT"
    local jh; jh="$(java_home)"
    fetch
    write_config
    [[ -f "$LOGS/stdout.log" ]] && mv -f "$LOGS/stdout.log" "$LOGS/stdout.log.1"
    # A clean environment: the node gets nothing of the caller's (tokens, passwords) but what it needs.
    (
      cd "$RUN/tmp"
      exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$RUN/tmp" LANG=C.UTF-8 \
        OPENSEARCH_HOME="$HOME_DIR" OPENSEARCH_PATH_CONF="$CONF" OPENSEARCH_JAVA_HOME="$jh" OPENSEARCH_TMPDIR="$RUN/tmp" \
        "${AS_NODE[@]}" "$HOME_DIR/bin/opensearch"
    ) >>"$LOGS/stdout.log" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    say "started pid $! as $OPENSEARCH_USER (run dir $RUN, log $LOGFILE)"
  fi
  wait_until_ready "$OPENSEARCH_START_TIMEOUT" node_ready "$LOGS/stdout.log" "$LOGFILE"
  say "ready on $URL (transport :$OPENSEARCH_TRANSPORT_PORT, cluster $CLUSTER) after $((SECONDS - began))s"
}

status() {
  if pid_alive; then
    if healthy && owns_ports "$OPENSEARCH_PORT" "$OPENSEARCH_TRANSPORT_PORT"; then echo "running $(pid_of_file) $URL"; return 0; fi
    echo "starting $(pid_of_file)"; return 1
  fi
  foreign_or_stopped "$OPENSEARCH_PORT"
}

case "${1:-}" in
  start) start ;;
  stop) stop_service ;;
  kill) kill_service ;;
  status) status ;;
  restart) stop_service; start ;;
  clean) stop_service; rm -rf "$RUN"; say "removed $RUN" ;;
  fetch) fetch ;;
  log) tail -n "${2:-50}" "$LOGFILE" ;;
  *) echo "usage: $0 start|stop|kill|status|restart|clean|fetch|log" >&2; exit 2 ;;
esac
