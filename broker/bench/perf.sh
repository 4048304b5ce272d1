#!/usr/bin/env bash
# End-to-end throughput with a real broker process and the librdkafka-based perf tool:
# produce N records (acks=1, linger 0) then consume them back, and report the broker's idle RSS.
# Usage: broker/bench/perf.sh [records] [record-size] [acks] [compression]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-2000000}
SIZE=${2:-100}
ACKS=${3:-1}
CODEC=${4:-none}
PORT=${PORT:-19092}
DATA=$(mktemp -d /tmp/perf-broker.XXXXXX)
dotnet build broker/src/Broker.Cli -c Release -nologo -v quiet >/dev/null
DLL=broker/src/Broker.Cli/bin/Release/net10.0/kafka-broker.dll
dotnet "$DLL" start --config broker/config/server.properties \
  --override "listeners=PLAINTEXT://127.0.0.1:$PORT" --override "advertised.listeners=PLAINTEXT://127.0.0.1:$PORT" \
  --override "log.dirs=$DATA" --override num.partitions=1 --log-level Warning &
BROKER=$!
trap 'kill -TERM $BROKER 2>/dev/null; wait $BROKER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
sleep 1
echo "broker idle RSS: $(awk '/VmRSS/ {print $2/1024 " MB"}' /proc/$BROKER/status)"
dotnet "$DLL" perf produce --bootstrap-server 127.0.0.1:$PORT --topic perf --num-records "$N" \
  --record-size "$SIZE" --acks "$ACKS" --linger-ms 0 --compression "$CODEC"
dotnet "$DLL" perf consume --bootstrap-server 127.0.0.1:$PORT --topic perf --messages "$N"
echo "broker RSS after load: $(awk '/VmRSS/ {print $2/1024 " MB"}' /proc/$BROKER/status)"
