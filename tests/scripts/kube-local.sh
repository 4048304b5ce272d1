#!/usr/bin/env bash
# `make kube-local`: a whole Kubernetes-style setup on this machine, without Kubernetes. The in-process API-server fixture
# (tests/Kube.ApiServer) is the control plane, the pod runner (tests/Kube.PodRunner) is the kubelet, and the cluster
# operator runs as its image, exactly as a user's cluster would run it. The CRDs are installed and the kubeconfig is
# written to .kube/config; apply a Kafka (examples/kafka/...) with kubectl and its brokers run as containers on the Docker
# network "kube-local". Ctrl+C (or SIGTERM) stops everything and removes the containers, volumes and network.
# Env: APISERVER_PORT (default 16443), STRIMZI_NAMESPACE (default "default"), OPERATOR_HEALTH_PORT (default 18080).
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT=${APISERVER_PORT:-16443}
NAMESPACE=${STRIMZI_NAMESPACE:-default}
HEALTH_PORT=${OPERATOR_HEALTH_PORT:-18080}
NETWORK=kube-local
VERSION=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' charts/strimzi-kafka-operator/Chart.yaml)
OPERATOR=kube-local-operator

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

mkdir -p .kube
rm -f .kube/config
dotnet tests/Kube.ApiServer.Host/bin/Release/net10.0/kube-apiserver-fixture.dll "$PORT" .kube/config &
pids+=($!)
for _ in $(seq 1 100); do [ -s .kube/config ] && kubectl --kubeconfig .kube/config get --raw /readyz >/dev/null 2>&1 && break; sleep 0.2; done
kubectl --kubeconfig .kube/config apply -f crds/ >/dev/null
kubectl --kubeconfig .kube/config get namespace "$NAMESPACE" >/dev/null 2>&1 || kubectl --kubeconfig .kube/config create namespace "$NAMESPACE" >/dev/null

dotnet tests/Kube.PodRunner.Host/bin/Release/net10.0/kube-pod-runner.dll .kube/config "$NETWORK" &
pids+=($!)

# The operator reaches the fixture on 127.0.0.1, so it shares the host's network; the brokers it creates run on "kube-local".
docker rm -f "$OPERATOR" >/dev/null 2>&1 || true
docker run -d --name "$OPERATOR" --network host -v "$PWD/.kube:/opt/strimzi/kube:ro" \
  -e KUBECONFIG=/opt/strimzi/kube/config -e STRIMZI_NAMESPACE="$NAMESPACE" -e STRIMZI_HEALTH_PORT="$HEALTH_PORT" \
  -e STRIMZI_KAFKA_IMAGE="kafka-broker:$VERSION" "strimzi-operator:$VERSION" >/dev/null
docker logs -f "$OPERATOR" &
pids+=($!)

echo "kube-local ready: kubectl --kubeconfig .kube/config ...; pods run on Docker network $NETWORK; Ctrl+C stops it"
wait "${pids[0]}"
