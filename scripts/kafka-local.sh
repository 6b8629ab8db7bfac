#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft: broker + controller in one JVM) on the loopback interface,
# for tests, benchmarks and trying the kafka sink by hand.
#
#   scripts/kafka-local.sh start    fetch (once), format (once), start, wait until it serves; idempotent
#   scripts/kafka-local.sh stop     SIGTERM, wait for a clean shutdown (keeps the data)
#   scripts/kafka-local.sh kill     SIGKILL (outage tests; `start` afterwards recovers the same data)
#   scripts/kafka-local.sh pause    SIGSTOP: a broker that accepts connections and answers nothing
#   scripts/kafka-local.sh resume   SIGCONT after pause
#   scripts/kafka-local.sh status   exit 0 and print "running PID" when it serves, else exit 1
#   scripts/kafka-local.sh clean    stop, then delete the data directory (next start formats anew)
#   scripts/kafka-local.sh fetch    only resolve the jars (e.g. to warm a cache)
#   scripts/kafka-local.sh log      tail the broker log
#
# Listeners (all on 127.0.0.1, nothing else is bound):
#   $KAFKA_PORT (9092)       PLAINTEXT
#   $KAFKA_SASL_PORT (9094)  SASL_PLAINTEXT with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512;
#                            user `netagent`, password `netagent-secret` (tests only)
#   $KAFKA_SSL_PORT (9095)   SSL with client certificates required (mutual TLS), when openssl is
#                            installed: CA, server and client certificates are made once in
#                            $KAFKA_RUN_DIR/tls (ca.pem, client.pem, client.key)
#   $KAFKA_CONTROLLER_PORT (9093) the KRaft controller
#
# The broker jars come from Maven Central through scripts/kafka/pom.xml (`mvn dependency:copy-dependencies`)
# and are cached under .kafka/ in the repository (ignored by git), so later runs start without the network.
# Data lives in $KAFKA_RUN_DIR (default: $TMPDIR/netagent-kafka-$UID), kept across stop/kill/start.
# Needs Java 17+ and Maven. Environment overrides: KAFKA_VERSION, KAFKA_PORT, KAFKA_SASL_PORT,
# KAFKA_CONTROLLER_PORT, KAFKA_RUN_DIR, KAFKA_CACHE_DIR, KAFKA_HEAP (default -Xmx512m -Xms128m),
# KAFKA_START_TIMEOUT (seconds, default 90).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_SASL_PORT="${KAFKA_SASL_PORT:-9094}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_SSL_PORT="${KAFKA_SSL_PORT:-9095}"
KAFKA_CACHE_DIR="${KAFKA_CACHE_DIR:-$ROOT/.kafka}"
KAFKA_RUN_DIR="${KAFKA_RUN_DIR:-${TMPDIR:-/tmp}/netagent-kafka-$(id -u)}"
KAFKA_HEAP="${KAFKA_HEAP:--Xmx512m -Xms128m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
LIB="$KAFKA_CACHE_DIR/lib-$KAFKA_VERSION"
PIDFILE="$KAFKA_RUN_DIR/kafka.pid"
LOGFILE="$KAFKA_RUN_DIR/server.log"
PROPS="$KAFKA_RUN_DIR/server.properties"
DATA="$KAFKA_RUN_DIR/data"
TLS="$KAFKA_RUN_DIR/tls"
SASL_USER=netagent
SASL_PASSWORD=netagent-secret

say() { echo "kafka-local: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

need_java() {
  command -v java >/dev/null 2>&1 || die "java not found (Kafka needs Java 17+; Debian: apt-get install -y openjdk-17-jre-headless)"
  local v
  v="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)"
  [[ -n "$v" && "$v" -ge 17 ]] || die "Java 17+ needed, found: $(java -version 2>&1 | head -1)"
}

fetch() {
  if [[ -f "$LIB/.complete" ]]; then return 0; fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found (Debian: apt-get install -y maven)"
  say "resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION from Maven Central into $LIB"
  rm -rf "$LIB.tmp"
  mvn -B -q -f "$ROOT/scripts/kafka/pom.xml" \
    -Dmaven.repo.local="$KAFKA_CACHE_DIR/m2" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIB.tmp" >&2 \
    || die "mvn dependency:copy-dependencies failed"
  rm -rf "$LIB" && mv "$LIB.tmp" "$LIB" && touch "$LIB/.complete"
}

pid_alive() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && grep -q 'kafka.Kafka' "/proc/$pid/cmdline" 2>/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Asks the broker for its cluster metadata with kafkajs (the client the project uses), so "ready"
# means "serves Kafka requests", not merely "the port is open".
serves() {
  (cd "$ROOT" && KAFKA_PORT="$KAFKA_PORT" timeout 15 node --input-type=module -e '
    import { Kafka, logLevel } from "kafkajs";
    const k = new Kafka({ brokers: [`127.0.0.1:${process.env.KAFKA_PORT}`], logLevel: logLevel.NOTHING,
      connectionTimeout: 2000, requestTimeout: 5000, retry: { retries: 0 } });
    const a = k.admin();
    try { await a.connect(); const c = await a.describeCluster(); await a.disconnect();
      process.exit(c.brokers.length > 0 && c.controller !== null ? 0 : 1); } catch { process.exit(1); }
  ') >/dev/null 2>&1
}

# Test certificates (never for production): a CA, the broker's (127.0.0.1, localhost) and a client's.
make_tls() {
  [[ -f "$TLS/.complete" ]] && return 0
  command -v openssl >/dev/null 2>&1 || return 1
  rm -rf "$TLS" && mkdir -p "$TLS"
  (
    cd "$TLS"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 -subj /CN=netagent-test-ca
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.crt -days 3650 -extfile server.ext
    openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=netagent
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 3650
    cat server.key server.crt >server.pem
  ) >"$KAFKA_RUN_DIR/tls.log" 2>&1 || { cat "$KAFKA_RUN_DIR/tls.log" >&2; die "making test certificates failed"; }
  touch "$TLS/.complete"
}

write_config() {
  mkdir -p "$KAFKA_RUN_DIR" "$DATA"
  local listeners="PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT"
  local ssl_props=""
  if make_tls; then
    listeners="$listeners,SSL://127.0.0.1:$KAFKA_SSL_PORT"
    ssl_props="listener.name.ssl.ssl.keystore.type=PEM
listener.name.ssl.ssl.keystore.location=$TLS/server.pem
listener.name.ssl.ssl.truststore.type=PEM
listener.name.ssl.ssl.truststore.location=$TLS/ca.pem
listener.name.ssl.ssl.client.auth=required"
  else
    say "openssl not found: no SSL listener"
  fi
  cat >"$PROPS" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=$listeners,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=$listeners
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,CONTROLLER:PLAINTEXT
$ssl_props
inter.broker.listener.name=PLAINTEXT
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SASL_USER="$SASL_PASSWORD";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
log.dirs=$DATA
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# The kafka sink creates its topics (admin) or reports a missing one; tests rely on that path.
auto.create.topics.enable=false
log.retention.hours=24
log.segment.bytes=67108864
EOF
  cat >"$KAFKA_RUN_DIR/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $LOGFILE
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.clients.name = org.apache.kafka
logger.clients.level = WARN
logger.raft.name = org.apache.kafka.raft
logger.raft.level = WARN
EOF
}

java_cp() { echo "$LIB/*"; }

format_once() {
  [[ -f "$DATA/meta.properties" ]] && return 0
  say "formatting KRaft storage in $DATA"
  local id
  id="$(java -cp "$(java_cp)" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
  java -Xmx256m -cp "$(java_cp)" -Dlog4j2.configurationFile="$KAFKA_RUN_DIR/log4j2.properties" \
    kafka.tools.StorageTool format -t "$id" -c "$PROPS" --ignore-formatted \
    --add-scram "SCRAM-SHA-256=[name=$SASL_USER,password=$SASL_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=$SASL_USER,password=$SASL_PASSWORD]" >"$KAFKA_RUN_DIR/format.log" 2>&1 \
    || { cat "$KAFKA_RUN_DIR/format.log" >&2; die "formatting failed"; }
}

start() {
  need_java
  if pid_alive; then
    if serves; then say "already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$KAFKA_PORT"; return 0; fi
    say "pid $(cat "$PIDFILE") exists but does not serve yet; waiting"
  else
    for p in "$KAFKA_PORT" "$KAFKA_SASL_PORT" "$KAFKA_SSL_PORT" "$KAFKA_CONTROLLER_PORT"; do
      port_open "$p" && die "127.0.0.1:$p is already in use by another process"
    done
    fetch
    write_config
    format_once
    # shellcheck disable=SC2086
    nohup java $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$KAFKA_RUN_DIR/log4j2.properties" \
      -cp "$(java_cp)" kafka.Kafka "$PROPS" >>"$KAFKA_RUN_DIR/stdout.log" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    say "started pid $! (data $DATA, log $LOGFILE)"
  fi
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! pid_alive; then
      tail -n 30 "$KAFKA_RUN_DIR/stdout.log" "$LOGFILE" >&2 2>/dev/null || true
      die "the broker exited during start"
    fi
    if port_open "$KAFKA_PORT" && serves; then
      say "ready on 127.0.0.1:$KAFKA_PORT (SASL on :$KAFKA_SASL_PORT, SSL on :$KAFKA_SSL_PORT)"
      return 0
    fi
    sleep 0.5
  done
  tail -n 30 "$LOGFILE" >&2 2>/dev/null || true
  die "not serving after ${KAFKA_START_TIMEOUT}s"
}

stop() {
  if ! pid_alive; then say "not running"; rm -f "$PIDFILE"; return 0; fi
  local pid; pid="$(cat "$PIDFILE")"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 60))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then say "no clean shutdown after 60s; SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
    sleep 0.2
  done
  rm -f "$PIDFILE"
  say "stopped"
}

kill9() {
  if ! pid_alive; then say "not running"; rm -f "$PIDFILE"; return 0; fi
  local pid; pid="$(cat "$PIDFILE")"
  kill -KILL "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  rm -f "$PIDFILE"
  say "killed pid $pid"
}

status() {
  if pid_alive && serves; then echo "running $(cat "$PIDFILE")"; return 0; fi
  if pid_alive; then echo "starting $(cat "$PIDFILE")"; return 1; fi
  echo "stopped"; return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  kill) kill9 ;;
  pause) pid_alive || die "not running"; kill -STOP "$(cat "$PIDFILE")"; say "paused pid $(cat "$PIDFILE")" ;;
  resume) pid_alive || die "not running"; kill -CONT "$(cat "$PIDFILE")"; say "resumed pid $(cat "$PIDFILE")" ;;
  status) status ;;
  restart) stop; start ;;
  clean) stop; rm -rf "$KAFKA_RUN_DIR"; say "removed $KAFKA_RUN_DIR" ;;
  fetch) fetch ;;
  log) tail -n "${2:-50}" "$LOGFILE" ;;
  *) echo "usage: $0 start|stop|kill|pause|resume|status|restart|clean|fetch|log" >&2; exit 2 ;;
esac
