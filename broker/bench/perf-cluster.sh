#!/usr/bin/env bash
# Replication benchmark (issue 7), `make perf-cluster`; not part of `make test`. On this machine, all on 127.0.0.1:
#   1. one broker process (single-node metadata log), topic with 1 partition: produce N x 100 B with acks=1, as fast as
#      the client goes (the baseline);
#   2. three broker processes forming a KRaft quorum (combined nodes, formatted in a temp dir like `make cluster`),
#      topic with 1 partition, RF 3, min.insync.replicas 2: produce N x 100 B with acks=all as fast as the client goes,
#      then at a fixed RATE (default 50,000 records/s) for RATE_SECONDS and report the delivery latency percentiles.
#   Each throughput run follows WARMUP_RECORDS (default 1,000,000) sent the same way and each fixed-rate run follows
#   WARMUP_SECONDS (default 5) at the same rate, whose figures are not kept (runtime warm-up, see below).
# Client: broker/bench/rdkafka-perf (C librdkafka, needs Debian's librdkafka-dev and gcc), linger.ms=0.
# Targets: acks=all RF 3 throughput at least half of the single broker's acks=1; p99 at 50,000 records/s <= 5 ms.
# Usage: broker/bench/perf-cluster.sh [records]    (env: RATE, RATE_SECONDS, WARMUP_SECONDS, WARMUP_RECORDS, BASE_PORT, KEEP=1 keeps the data dir,
#        BROKER_DLL=FILE runs that build, PERF_RECORD=FILE samples the brokers with `perf record -g` during the fixed-rate RF 3 run,
#        or during the RF 3 throughput run with PERF_PHASE=throughput)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=../scripts/cluster-node.sh
source broker/scripts/cluster-node.sh
N=${1:-2000000}
RATE=${RATE:-50000}
RATE_SECONDS=${RATE_SECONDS:-20}
# Seconds at the fixed rate before the measured run, not measured: the runtime tiers up its hot methods in the first
# seconds at a new load (JIT threads took ~40 % of the brokers' CPU samples then), which is warm-up, not steady state.
WARMUP_SECONDS=${WARMUP_SECONDS:-5}
# Likewise each throughput run follows WARMUP_RECORDS (default 1,000,000) sent the same way, not measured: a cold run
# of a few seconds mostly measured the JIT (three broker processes tier up where the baseline has one).
WARMUP_RECORDS=${WARMUP_RECORDS:-1000000}
BASE=${BASE_PORT:-29092}
SINGLE_PORT=$((BASE + 10))
DATA=$(mktemp -d /tmp/perf-cluster.XXXXXX)
TOOL=$DATA/rdkafka_perf
if ! [ -f /usr/include/librdkafka/rdkafka.h ]; then
  echo "perf-cluster.sh needs librdkafka-dev (apt-get install -y librdkafka-dev)" >&2
  exit 1
fi
gcc -O2 -Wall -Wextra -o "$TOOL" broker/bench/rdkafka-perf/rdkafka_perf.c -lrdkafka
# BROKER_DLL=path runs an already built kafka-broker.dll instead (A/B runs against another build).
if [ -n "${BROKER_DLL:-}" ]; then
  DLL=$BROKER_DLL
else
  dotnet build broker/src/Broker.Cli -c Release -nologo -v quiet >/dev/null
  DLL=broker/src/Broker.Cli/bin/Release/net10.0/kafka-broker.dll
fi

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "${KEEP:-0}" = 1 ]; then echo "data kept in $DATA"; else rm -rf "$DATA"; fi
}
trap cleanup EXIT

wait_port() {
  for _ in $(seq 1 300); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}
cpu() { local total=0 pid; for pid in "$@"; do total=$(echo "$total + $(awk '{print ($14+$15)/100}' /proc/"$pid"/stat)" | bc); done; echo "$total"; }
# The machine's CPU counters (/proc/stat "cpu": user nice system idle iowait irq softirq steal), as "busy steal total".
machine_cpu() { awk '/^cpu / {print $2+$3+$4+$7+$8, $9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
phase() {
  local before after m0 m1
  # Each phase starts with no dirty page cache left by the one before (writeback would compete with it).
  sync
  before=$(cpu "${phase_pids[@]}")
  m0=$(machine_cpu)
  "$@"
  m1=$(machine_cpu)
  after=$(cpu "${phase_pids[@]}")
  echo "  broker CPU (all brokers): $(echo "$after - $before" | bc) s"
  # Steal is CPU time the hypervisor gave to other guests while this one wanted it: on a virtual machine it shows up
  # directly in the latency tail, so every phase reports it (figures from runs with a high steal are not comparable).
  echo "$m0 $m1" | awk '{t = $6 - $3; printf "  machine: %.0f %% busy, %.1f %% steal (of both cores)\n", 100 * ($4 - $1) / t, 100 * ($5 - $2) / t}'
}
produce() { "$TOOL" produce "$@"; }
# Profiling aid: sample the three brokers during one RF 3 run (run with DOTNET_PerfMapEnabled=1 for names).
perf_pid=
start_perf_record() {
  if [ -n "${PERF_RECORD:-}" ]; then
    perf record -F 999 -g -o "$PERF_RECORD" -p "$(IFS=,; echo "${pids[*]}")" 2>/dev/null &
    perf_pid=$!
  fi
}
stop_perf_record() {
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; perf_pid=; fi
}
# warm_rate BOOTSTRAP TOPIC ACKS: WARMUP_SECONDS at the fixed rate, output discarded.
warm_rate() {
  if [ "$WARMUP_SECONDS" -gt 0 ]; then
    RDKAFKA_PERF_RATE=$RATE produce "$1" "$2" $((RATE * WARMUP_SECONDS)) 100 "$3" 0 none >/dev/null
  fi
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $N records of 100 B per throughput run"

# 1. The baseline: one broker, acks=1.
mkdir -p "$DATA/single"
dotnet "$DLL" start --config broker/config/server.properties --log-level Warning \
  --override "listeners=PLAINTEXT://127.0.0.1:$SINGLE_PORT" --override "advertised.listeners=PLAINTEXT://127.0.0.1:$SINGLE_PORT" \
  --override "log.dirs=$DATA/single" --override num.partitions=1 --override health.port=-1 --override metrics.port=-1 &
single=$!
pids+=("$single")
wait_port "$SINGLE_PORT"
phase_pids=("$single")
produce "127.0.0.1:$SINGLE_PORT" perf-single "$WARMUP_RECORDS" 100 1 0 none >/dev/null
echo "== single broker, acks=1, $N x 100 B, linger.ms=0"
phase produce "127.0.0.1:$SINGLE_PORT" perf-single "$N" 100 1 0 none
echo "== single broker, acks=1, fixed rate $RATE records/s for ${RATE_SECONDS} s (reference)"
warm_rate "127.0.0.1:$SINGLE_PORT" perf-single-rate 1
RDKAFKA_PERF_RATE=$RATE phase produce "127.0.0.1:$SINGLE_PORT" perf-single-rate $((RATE * RATE_SECONDS)) 100 1 0 none
kill -TERM "$single"; wait "$single" 2>/dev/null || true
pids=()

# 2. Three KRaft nodes, RF 3, acks=all.
CLUSTER_ID=$(dotnet "$DLL" storage random-uuid)
voters=""
for n in 1 2 3; do voters="${voters:+$voters,}$n@127.0.0.1:$((BASE + 100 + n - 1))"; done
bootstrap=""
for n in 1 2 3; do
  dir=$DATA/node-$n
  port=$((BASE + n - 1))
  bootstrap="${bootstrap:+$bootstrap,}127.0.0.1:$port"
  mkdir -p "$dir/logs"
  write_node_config "$dir/server.properties" "$n" "$CLUSTER_ID" "$voters" "$port" $((BASE + 100 + n - 1)) "$dir/logs" -1 -1 1
  dotnet "$DLL" storage format -c "$dir/server.properties" -t "$CLUSTER_ID" >/dev/null
done
for n in 1 2 3; do
  dotnet "$DLL" start --config "$DATA/node-$n/server.properties" --log-level Warning > "$DATA/node-$n/broker.log" 2>&1 &
  pids+=($!)
done
for n in 1 2 3; do wait_port $((BASE + n - 1)); done
phase_pids=("${pids[@]}")
# The first produce auto-creates the topic (RF 3 by default.replication.factor) once the quorum has a leader.
for attempt in 1 2 3; do
  produce "$bootstrap" perf-rf3 20000 100 all 0 none >/dev/null && break
  echo "warm-up attempt $attempt failed, retrying" >&2
done
produce "$bootstrap" perf-rf3 "$WARMUP_RECORDS" 100 all 0 none >/dev/null
echo "== 3 brokers, RF 3, min.insync.replicas 2, acks=all, $N x 100 B, linger.ms=0"
[ "${PERF_PHASE:-rate}" = throughput ] && start_perf_record
phase produce "$bootstrap" perf-rf3 "$N" 100 all 0 none
[ "${PERF_PHASE:-rate}" = throughput ] && stop_perf_record
echo "== 3 brokers, RF 3, acks=all, fixed rate $RATE records/s for ${RATE_SECONDS} s, linger.ms=0"
warm_rate "$bootstrap" perf-rf3 all
[ "${PERF_PHASE:-rate}" = rate ] && start_perf_record
RDKAFKA_PERF_RATE=$RATE phase produce "$bootstrap" perf-rf3 $((RATE * RATE_SECONDS)) 100 all 0 none
[ "${PERF_PHASE:-rate}" = rate ] && stop_perf_record
for n in 1 2 3; do
  echo "node $n: RSS $(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/"${pids[$((n - 1))]}"/status), log end of perf-rf3-0: $(du -sh "$DATA/node-$n/logs/perf-rf3-0" | cut -f1)"
done
