#!/usr/bin/env bash
# End-to-end check of the broker image: build Dockerfile.broker, run it with a published 127.0.0.1 port,
# produce and consume with kcat (librdkafka), restart the container on its volume and read the data
# again, then stop it: the broker must exit 0 after a graceful shutdown. Needs a Docker engine
# (../shared/tools/container-engine.sh provides one) and kcat. Removes its own container and volume.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v docker >/dev/null || { echo "FAIL: docker is not installed" >&2; exit 1; }
command -v kcat >/dev/null || { echo "FAIL: kcat is not installed (apt-get install kcat)" >&2; exit 1; }
IMAGE=${IMAGE:-kafka-broker:e2e}
NAME=kafka-broker-e2e-$$
VOLUME=$NAME-data
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() { docker rm -f "$NAME" >/dev/null 2>&1 || true; docker volume rm "$VOLUME" >/dev/null 2>&1 || true; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; docker logs "$NAME" 2>&1 | tail -20 >&2 || true; exit 1; }

docker build -q -f Dockerfile.broker -t "$IMAGE" . >/dev/null
start() {
  docker run -d --name "$NAME" -p "127.0.0.1:$PORT:9092" -v "$VOLUME:/var/lib/kafka/data" \
    -e "KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://127.0.0.1:$PORT" "$IMAGE" >/dev/null
  for _ in $(seq 1 100); do
    docker logs "$NAME" 2>&1 | grep -q "started in cluster" && return 0
    sleep 0.2
  done
  fail "broker did not start"
}

start
printf 'k1:one\nk2:two\nk3:three\n' | kcat -b "127.0.0.1:$PORT" -t e2e -P -K: -z lz4 || fail "produce"
expected=$'k1=one\nk2=two\nk3=three'
got=$(kcat -b "127.0.0.1:$PORT" -t e2e -C -e -q -f '%k=%s\n') || fail "consume"
[ "$got" = "$expected" ] || fail "consumed '$got', expected '$expected'"

docker stop -t 20 "$NAME" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$NAME")
[ "$code" = 0 ] || fail "exit code $code after docker stop"
docker logs "$NAME" 2>&1 | grep -q "Broker stopped cleanly" || fail "no clean shutdown"
docker rm "$NAME" >/dev/null

start
got=$(kcat -b "127.0.0.1:$PORT" -t e2e -C -e -q -f '%k=%s\n') || fail "consume after restart"
[ "$got" = "$expected" ] || fail "after restart consumed '$got', expected '$expected'"
docker stop -t 20 "$NAME" >/dev/null
echo "PASS: broker image builds, serves kcat, survives a restart on its volume and stops cleanly"
