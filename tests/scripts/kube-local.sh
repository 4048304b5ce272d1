#!/usr/bin/env bash
# `make kube-local`: a whole Kubernetes-style setup on this machine, without Kubernetes. The in-process API-server fixture
# (tests/Kube.ApiServer) is the control plane, the pod runner (tests/Kube.PodRunner) is the kubelet, and the cluster
# operator runs as its image, exactly as a user's cluster would run it. The CRDs are installed and the kubeconfig is
# written to .kube/config; apply a Kafka (examples/kafka/...) with kubectl and its brokers run as containers on the Docker
# network "kube-local". Ctrl+C (or SIGTERM) stops everything and removes the containers, volumes and network.
# Env: APISERVER_PORT (default 16443), STRIMZI_NAMESPACE (default "default"), OPERATOR_HEALTH_PORT (default 18080);
# KUBE_LOCAL_NETWORK (default kube-local), KUBE_LOCAL_OPERATOR (the operator container's name, default
# kube-local-operator) and KUBE_LOCAL_DIR (where the kubeconfig goes, default .kube) let a test run it beside another.
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT=${APISERVER_PORT:-16443}
NAMESPACE=${STRIMZI_NAMESPACE:-default}
HEALTH_PORT=${OPERATOR_HEALTH_PORT:-18080}
NETWORK=${KUBE_LOCAL_NETWORK:-kube-local}
VERSION=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' charts/strimzi-kafka-operator/Chart.yaml)
OPERATOR=${KUBE_LOCAL_OPERATOR:-kube-local-operator}
KUBE_DIR=${KUBE_LOCAL_DIR:-.kube}

dotnet build tests/Kube.ApiServer.Host -c Release -nologo -v quiet >/dev/null
dotnet build tests/Kube.PodRunner.Host -c Release -nologo -v quiet >/dev/null
make images >/dev/null

pids=()
cleanup() {
  trap - EXIT INT TERM
  docker rm -f "$OPERATOR" >/dev/null 2>&1 || true
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "kube-local stopped"
}
trap cleanup EXIT INT TERM

mkdir -p "$KUBE_DIR"
KUBE_DIR=$(cd "$KUBE_DIR" && pwd)
KUBECONFIG_FILE="$KUBE_DIR/config"
rm -f "$KUBECONFIG_FILE"
dotnet tests/Kube.ApiServer.Host/bin/Release/net10.0/kube-apiserver-fixture.dll "$PORT" "$KUBECONFIG_FILE" &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$KUBECONFIG_FILE" ] && kubectl --kubeconfig "$KUBECONFIG_FILE" get --raw /readyz >/dev/null 2>&1 && break; sleep 0.2; done
kubectl --kubeconfig "$KUBECONFIG_FILE" apply -f crds/ >/dev/null
kubectl --kubeconfig "$KUBECONFIG_FILE" get namespace "$NAMESPACE" >/dev/null 2>&1 || kubectl --kubeconfig "$KUBECONFIG_FILE" create namespace "$NAMESPACE" >/dev/null

dotnet tests/Kube.PodRunner.Host/bin/Release/net10.0/kube-pod-runner.dll "$KUBECONFIG_FILE" "$NETWORK" &
pids+=($!)

# The operator reaches the fixture on 127.0.0.1, so it shares the host's network; the brokers it creates run on "kube-local".
docker rm -f "$OPERATOR" >/dev/null 2>&1 || true
docker run -d --name "$OPERATOR" --network host -v "$KUBE_DIR:/opt/strimzi/kube:ro" \
  -e KUBECONFIG=/opt/strimzi/kube/config -e STRIMZI_NAMESPACE="$NAMESPACE" -e STRIMZI_HEALTH_PORT="$HEALTH_PORT" \
  -e STRIMZI_KAFKA_IMAGE="kafka-broker:$VERSION" "strimzi-operator:$VERSION" >/dev/null
docker logs -f "$OPERATOR" &
pids+=($!)

echo "kube-local ready: kubectl --kubeconfig $KUBECONFIG_FILE ...; pods run on Docker network $NETWORK; Ctrl+C stops it"
wait "${pids[0]}"
