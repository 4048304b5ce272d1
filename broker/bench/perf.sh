#!/usr/bin/env bash
# End-to-end throughput against a real broker process (Release build, fresh log dir):
#   1. the C librdkafka load generator (broker/bench/rdkafka-perf, needs Debian's librdkafka-dev and gcc),
#   2. the broker CLI's own perf commands (Confluent.Kafka, i.e. librdkafka behind .NET).
# It prints records/s, MB/s, latency percentiles, the broker's CPU seconds per phase and its RSS.
# Usage: broker/bench/perf.sh [records] [acks] [compression]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-5000000}
ACKS=${2:-1}
CODEC=${3:-none}
PORT=${PORT:-19092}
DATA=$(mktemp -d /tmp/perf-broker.XXXXXX)
TOOL=$(mktemp /tmp/rdkafka_perf.XXXXXX)
if ! [ -f /usr/include/librdkafka/rdkafka.h ]; then
  echo "perf.sh needs librdkafka-dev (apt-get install -y librdkafka-dev)" >&2
  exit 1
fi
gcc -O2 -Wall -Wextra -o "$TOOL" broker/bench/rdkafka-perf/rdkafka_perf.c -lrdkafka
dotnet build broker/src/Broker.Cli -c Release -nologo -v quiet >/dev/null
DLL=broker/src/Broker.Cli/bin/Release/net10.0/kafka-broker.dll
dotnet "$DLL" start --config broker/config/server.properties \
  --override "listeners=PLAINTEXT://127.0.0.1:$PORT" --override "advertised.listeners=PLAINTEXT://127.0.0.1:$PORT" \
  --override "log.dirs=$DATA" --override num.partitions=1 --log-level Warning &
BROKER=$!
trap 'kill -TERM $BROKER 2>/dev/null; wait $BROKER 2>/dev/null; rm -rf "$DATA" "$TOOL"' EXIT
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break; sleep 0.1; done
sleep 1
rss() { awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$BROKER/status; }
cpu() { awk '{print ($14+$15)/100}' /proc/$BROKER/stat; }
phase() { local before after; before=$(cpu); "$@"; after=$(cpu); echo "  broker CPU: $(echo "$after - $before" | bc) s"; }
echo "broker idle RSS: $(rss)"
echo "== librdkafka (C) produce: $N x 100 B, acks=$ACKS, linger.ms=0, compression=$CODEC"
phase "$TOOL" produce "127.0.0.1:$PORT" perf-c "$N" 100 "$ACKS" 0 "$CODEC"
echo "== librdkafka (C) consume (rd_kafka_consume_callback)"
phase "$TOOL" consume "127.0.0.1:$PORT" perf-c "$N"
echo "== librdkafka (C) consume (rd_kafka_consume_batch)"
RDKAFKA_PERF_API=batch phase "$TOOL" consume "127.0.0.1:$PORT" perf-c "$N"
echo "== broker-side read capacity (kafka-broker perf fetch: raw Fetch v12, 1 MiB per fetch, no record parsing)"
phase dotnet "$DLL" perf fetch --bootstrap-server "127.0.0.1:$PORT" --topic perf-c
echo "== Confluent.Kafka (kafka-broker perf) produce"
phase dotnet "$DLL" perf produce --bootstrap-server "127.0.0.1:$PORT" --topic perf-net --num-records "$N" \
  --record-size 100 --acks "$ACKS" --linger-ms 0 --compression "$CODEC" --report-interval-ms 60000
echo "== Confluent.Kafka (kafka-broker perf) consume"
phase dotnet "$DLL" perf consume --bootstrap-server "127.0.0.1:$PORT" --topic perf-net --messages "$N" --report-interval-ms 60000
echo "broker RSS after load: $(rss)"
