#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft: broker + controller in one JVM) on the loopback interface,
# for tests, benchmarks and trying the kafka sink by hand.
#
#   scripts/kafka-local.sh start    fetch (once), format (once), start, wait until it serves; idempotent
#   scripts/kafka-local.sh stop     SIGTERM, wait for a clean shutdown (keeps the data)
#   scripts/kafka-local.sh kill     SIGKILL (outage tests; `start` afterwards recovers the same data)
#   scripts/kafka-local.sh pause    SIGSTOP: a broker that accepts connections and answers nothing
#   scripts/kafka-local.sh resume   SIGCONT after pause
#   scripts/kafka-local.sh status   exit 0 and print "running PID" when this checkout's broker serves and
#                                   its codecs work, else exit 1 (also when a foreign process has the port)
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
# Data lives in $KAFKA_RUN_DIR (default: .run/kafka in this checkout, ignored by git), kept across
# stop/kill/start. One checkout, one broker: `status` accepts only the broker whose pid file and command
# line are this checkout's, that listens on the ports itself, and that takes snappy, zstd, lz4 and gzip
# batches (a produce and consume with kcat; a broker whose jars were deleted under it fails there with
# UnsatisfiedLinkError). Its native libraries are unpacked into the run directory (java.io.tmpdir), not
# /tmp, and loaded by that check at start. A foreign process on a port is an error, never reused.
# Needs Java 17+, Maven, kcat and ss (iproute2). Environment overrides: KAFKA_VERSION, KAFKA_PORT, KAFKA_SASL_PORT,
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
KAFKA_RUN_DIR="${KAFKA_RUN_DIR:-$ROOT/.run/kafka}"
KAFKA_HEAP="${KAFKA_HEAP:--Xmx512m -Xms128m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
LIB="$KAFKA_CACHE_DIR/lib-$KAFKA_VERSION"
PIDFILE="$KAFKA_RUN_DIR/kafka.pid"
LOGFILE="$KAFKA_RUN_DIR/server.log"
PROPS="$KAFKA_RUN_DIR/server.properties"
DATA="$KAFKA_RUN_DIR/data"
TLS="$KAFKA_RUN_DIR/tls"
CODECS_OK="$KAFKA_RUN_DIR/codecs-ok"
PROBE_TOPIC=_netagent.codec-probe
SASL_USER=netagent
SASL_PASSWORD=netagent-secret
SERVICE=kafka-local
# shellcheck source=scripts/local-service.sh
source "$ROOT/scripts/local-service.sh"

need_java() {
  command -v java >/dev/null 2>&1 || die "java not found (Kafka needs Java 17+; Debian: apt-get install -y openjdk-17-jre-headless)"
  check_java java "put a Java 17+ first on PATH"
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

# Alive, a broker, and this checkout's: its command line names this run directory's server.properties.
pid_alive() {
  local pid
  pid="$(pid_of_file)" || return 1
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null \
    && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $PROPS"
}

# Asks the broker for its cluster metadata with kafkajs (the client the project uses), so "ready"
# means "serves Kafka requests", not merely "the port is open". With "probe-topic", also makes sure the
# codec probe's topic exists (the broker does not create topics on its own).
serves() {
  (cd "$ROOT" && KAFKA_PORT="$KAFKA_PORT" PROBE_TOPIC="${1:+$PROBE_TOPIC}" timeout 15 node --input-type=module -e '
    import { Kafka, logLevel } from "kafkajs";
    const k = new Kafka({ brokers: [`127.0.0.1:${process.env.KAFKA_PORT}`], logLevel: logLevel.NOTHING,
      connectionTimeout: 2000, requestTimeout: 5000, retry: { retries: 0 } });
    const a = k.admin();
    try { await a.connect(); const c = await a.describeCluster();
      if (process.env.PROBE_TOPIC) await a.createTopics({ topics: [{ topic: process.env.PROBE_TOPIC }], waitForLeaders: true });
      await a.disconnect();
      process.exit(c.brokers.length > 0 && c.controller !== null ? 0 : 1); } catch { process.exit(1); }
  ') >/dev/null 2>&1
}

# One message per codec produced and read back with kcat: the broker decompresses every batch it
# validates, so this fails when its native snappy or zstd cannot load. Done once per broker pid.
codecs_work() {
  local pid; pid="$(pid_of_file)"
  [[ "$(cat "$CODECS_OK" 2>/dev/null)" == "$pid" ]] && return 0
  command -v kcat >/dev/null 2>&1 || die "kcat not found: the broker's codecs are checked with it (Debian: apt-get install -y kcat)"
  serves probe-topic || return 1
  local codec nonce="$pid.$RANDOM$RANDOM" out padding
  # librdkafka sends a batch uncompressed when compressing does not make it smaller: pad it.
  padding="$(printf '%0512d' 0)"
  for codec in snappy zstd lz4 gzip; do
    printf 'probe %s %s %s\n' "$codec" "$nonce" "$padding" \
      | kcat -P -b "127.0.0.1:$KAFKA_PORT" -t "$PROBE_TOPIC" -z "$codec" -X message.timeout.ms=10000 >"$KAFKA_RUN_DIR/codec-probe.log" 2>&1 \
      || { say "producing a $codec batch failed: $(tail -n 3 "$KAFKA_RUN_DIR/codec-probe.log")"; return 1; }
  done
  out="$(kcat -C -b "127.0.0.1:$KAFKA_PORT" -t "$PROBE_TOPIC" -o -4 -e -q 2>&1)" || { say "reading the codec probe failed: $out"; return 1; }
  for codec in snappy zstd lz4 gzip; do
    [[ "$out" == *"probe $codec $nonce"* ]] || { say "the $codec probe did not come back (broker log: $LOGFILE)"; return 1; }
  done
  echo "$pid" >"$CODECS_OK"
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
  mkdir -p "$KAFKA_RUN_DIR" "$DATA" "$KAFKA_RUN_DIR/tmp"
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

broker_ready() {
  port_open "$KAFKA_PORT" && serves || return 1
  owns_ports "$KAFKA_PORT" || die "127.0.0.1:$KAFKA_PORT answers, but not from pid $(pid_of_file): $(describe_port_owner "$KAFKA_PORT")"
  codecs_work || die "the broker serves but fails a compressed produce; it is left running to look at (log: $LOGFILE; then: $0 stop)"
}

start() {
  need_java
  if pid_alive; then
    if serves && owns_ports "$KAFKA_PORT" && codecs_work; then say "already running (pid $(pid_of_file)) on 127.0.0.1:$KAFKA_PORT"; return 0; fi
    say "pid $(pid_of_file) exists but does not serve yet; waiting"
  else
    refuse_taken_ports "KAFKA_PORT, KAFKA_SASL_PORT, KAFKA_SSL_PORT, KAFKA_CONTROLLER_PORT" \
      "$KAFKA_PORT" "$KAFKA_SASL_PORT" "$KAFKA_SSL_PORT" "$KAFKA_CONTROLLER_PORT"
    rm -f "$CODECS_OK"
    fetch
    write_config
    format_once
    # shellcheck disable=SC2086
    nohup java $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true -Djava.io.tmpdir="$KAFKA_RUN_DIR/tmp" \
      -Dlog4j2.configurationFile="$KAFKA_RUN_DIR/log4j2.properties" \
      -cp "$(java_cp)" kafka.Kafka "$PROPS" >>"$KAFKA_RUN_DIR/stdout.log" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    say "started pid $! (data $DATA, log $LOGFILE)"
  fi
  wait_until_ready "$KAFKA_START_TIMEOUT" broker_ready "$KAFKA_RUN_DIR/stdout.log" "$LOGFILE"
  say "ready on 127.0.0.1:$KAFKA_PORT (SASL on :$KAFKA_SASL_PORT, SSL on :$KAFKA_SSL_PORT)"
}

status() {
  if pid_alive; then
    if serves && owns_ports "$KAFKA_PORT"; then
      codecs_work || { echo "broken $(pid_of_file): a compressed produce fails (restart it: $0 restart)"; return 1; }
      echo "running $(pid_of_file)"; return 0
    fi
    echo "starting $(pid_of_file)"; return 1
  fi
  foreign_or_stopped "$KAFKA_PORT"
}

case "${1:-}" in
  start) start ;;
  stop) stop_service ;;
  kill) kill_service ;;
  pause) pid_alive || die "not running"; kill -STOP "$(pid_of_file)"; say "paused pid $(pid_of_file)" ;;
  resume) pid_alive || die "not running"; kill -CONT "$(pid_of_file)"; say "resumed pid $(pid_of_file)" ;;
  status) status ;;
  restart) stop_service; start ;;
  clean) stop_service; rm -rf "$KAFKA_RUN_DIR"; say "removed $KAFKA_RUN_DIR" ;;
  fetch) fetch ;;
  log) tail -n "${2:-50}" "$LOGFILE" ;;
  *) echo "usage: $0 start|stop|kill|pause|resume|status|restart|clean|fetch|log" >&2; exit 2 ;;
esac
