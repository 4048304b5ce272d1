#!/usr/bin/env bash
# End-to-end check of the cluster operator image: build Dockerfile.operator and run it. Without STRIMZI_NAMESPACE the
# real cluster-operator executable must refuse to start with exit code 2 and say why; with a namespace but no
# reachable cluster (no kubeconfig, no service account) it must exit 1 with a clear message, not crash; it runs as
# uid 1001. Reconciling against an API server is tested in-process (tests/Operator.Reconcilers.Tests); running the
# operator against the fixture with pods as containers is issue "Kubernetes end to end". Needs a Docker engine.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v docker >/dev/null || { echo "FAIL: docker is not installed" >&2; exit 1; }
IMAGE=${IMAGE:-strimzi-operator:e2e}
NAME=strimzi-operator-e2e-$$
cleanup() { docker rm -f "$NAME-1" "$NAME-2" >/dev/null 2>&1 || true; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

docker build -q -f Dockerfile.operator -t "$IMAGE" . >/dev/null

set +e
out=$(timeout 60 docker run --rm --name "$NAME-1" "$IMAGE" 2>&1); code=$?
set -e
[ "$code" = 2 ] || fail "without STRIMZI_NAMESPACE: exit code $code, expected 2: $out"
grep -q "STRIMZI_NAMESPACE must name one or more namespaces" <<<"$out" || fail "no usage message: $out"

set +e
out=$(timeout 60 docker run --rm --name "$NAME-2" -e STRIMZI_NAMESPACE=myproject "$IMAGE" 2>&1); code=$?
set -e
[ "$code" = 1 ] || fail "without a cluster: exit code $code, expected 1: $out"
grep -q "Cannot reach the Kubernetes API" <<<"$out" || fail "no clear message without a cluster: $out"
grep -q "Unhandled exception" <<<"$out" && fail "crashed instead of reporting: $out"

uid=$(docker run --rm --entrypoint id "$IMAGE" -u)
[ "$uid" = 1001 ] || fail "runs as uid $uid, expected 1001"

docker rmi "$IMAGE" >/dev/null 2>&1 || true
echo "PASS: operator image builds, runs the cluster operator as uid 1001, refuses a missing namespace (2) and a missing cluster (1) clearly"
