#!/usr/bin/env bash
# A local three-node KRaft cluster on 127.0.0.1 for trying replication: `make cluster`.
#
# Every node is both broker and controller (combined mode, as Strimzi's dual-role node pools). Clients connect to
# 127.0.0.1:9092, :9093 and :9094; the quorum talks on 127.0.0.1:19092-19094; health is on 8081-8083 and metrics on
# 9405-9407. Data and logs live under $CLUSTER_DIR (./data/cluster): node-N/ holds a node's generated
# server.properties, its log dirs and broker.log. The storage is formatted once with a shared cluster id, so a second
# `make cluster` continues the same cluster. Ctrl-C (or SIGTERM) stops all three cleanly.
set -euo pipefail
# shellcheck source=cluster-node.sh
source "$(dirname "$0")/cluster-node.sh"

DOTNET=${DOTNET:-dotnet}
BROKER_DLL=${BROKER_DLL:?BROKER_DLL must name kafka-broker.dll}
CLUSTER_DIR=${CLUSTER_DIR:-./data/cluster}
NODES=3

mkdir -p "$CLUSTER_DIR"
if [ ! -s "$CLUSTER_DIR/cluster.id" ]; then
    "$DOTNET" "$BROKER_DLL" storage random-uuid > "$CLUSTER_DIR/cluster.id"
fi
CLUSTER_ID=$(cat "$CLUSTER_DIR/cluster.id")

voters=""
for n in $(seq 1 $NODES); do
    voters="${voters:+$voters,}$n@127.0.0.1:$((19091 + n))"
done

for n in $(seq 1 $NODES); do
    dir="$CLUSTER_DIR/node-$n"
    mkdir -p "$dir/logs"
    write_node_config "$dir/server.properties" "$n" "$CLUSTER_ID" "$voters" $((9091 + n)) $((19091 + n)) "$dir/logs" \
        $((8080 + n)) $((9404 + n)) 3
    echo "group.initial.rebalance.delay.ms=0" >> "$dir/server.properties"
    "$DOTNET" "$BROKER_DLL" storage format -c "$dir/server.properties" -t "$CLUSTER_ID" --ignore-formatted > /dev/null
done

pids=()
stop() {
    echo "stopping the cluster"
    for pid in "${pids[@]}"; do
        if [ "$pid" != "0" ]; then kill -TERM "$pid" 2>/dev/null || true; fi
    done
    wait
    exit 0
}
trap stop INT TERM

for n in $(seq 1 $NODES); do
    "$DOTNET" "$BROKER_DLL" start --config "$CLUSTER_DIR/node-$n/server.properties" > "$CLUSTER_DIR/node-$n/broker.log" 2>&1 &
    pids+=($!)
    echo "node $n: pid $!, client port $((9091 + n)), log $CLUSTER_DIR/node-$n/broker.log"
done
echo "bootstrap servers: 127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094 (Ctrl-C stops all three)"

# Stay up while the nodes run; a node that dies (kill -9 to try a failure) is reported, the others keep serving.
while true; do
    for i in "${!pids[@]}"; do
        if [ "${pids[$i]}" != "0" ] && ! kill -0 "${pids[$i]}" 2>/dev/null; then
            wait "${pids[$i]}" 2>/dev/null && status=0 || status=$?
            echo "node $((i + 1)) exited with status $status; restart it with:"
            echo "  $DOTNET $BROKER_DLL start --config $CLUSTER_DIR/node-$((i + 1))/server.properties"
            pids[$i]=0
        fi
    done
    sleep 1 & wait $!
done
