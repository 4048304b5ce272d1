# Two commands matter to users: `make run` and `make test` (see README.md).
DOTNET ?= dotnet
CONFIG ?= Release
BROKER_DLL := broker/src/Broker.Cli/bin/$(CONFIG)/net10.0/kafka-broker.dll
SCHEMAS ?= ../shared/kafka-protocol

.PHONY: build run cluster test soak images e2e generate crds bench perf perf-cluster apiserver podrunner kube-local operator clean

build:
	$(DOTNET) build Operator.sln -c $(CONFIG) -nologo -v quiet

# One broker on 127.0.0.1:9092, data under ./data, defaults from broker/config/server.properties.
run:
	$(DOTNET) build broker/src/Broker.Cli -c $(CONFIG) -nologo -v quiet
	exec $(DOTNET) $(BROKER_DLL) start --config broker/config/server.properties

# A local three-node KRaft cluster (every node broker and controller) on 127.0.0.1:9092-9094, data under ./data/cluster.
cluster:
	$(DOTNET) build broker/src/Broker.Cli -c $(CONFIG) -nologo -v quiet
	BROKER_DLL=$(BROKER_DLL) DOTNET=$(DOTNET) exec bash broker/scripts/local-cluster.sh

# Every test: codec, storage, server units, and integration against real brokers and real clients
# (kcat, kafka-python and KafkaJS; KafkaJS is installed here from the npm registry).
test:
	@if command -v npm >/dev/null; then npm ci --prefix tests/Broker.IntegrationTests/node --no-audit --no-fund --loglevel=error; \
	else echo "warning: npm not found: the KafkaJS tests will fail (apt-get install nodejs npm)"; fi
	$(DOTNET) build Operator.sln -c $(CONFIG) -nologo -v quiet
	$(DOTNET) test Operator.sln -c $(CONFIG) --no-build -nologo

# The fault tests' SIGKILL-the-partition-leader loop for longer: FAULT_ROUNDS rounds (make test runs 10) against
# three real broker processes, with every acknowledged record checked afterwards (docs/replication.md, "Fault tests").
FAULT_ROUNDS ?= 100
soak:
	$(DOTNET) build tests/Broker.FaultTests -c $(CONFIG) -nologo -v quiet
	FAULT_ROUNDS=$(FAULT_ROUNDS) $(DOTNET) test tests/Broker.FaultTests -c $(CONFIG) --no-build -nologo --filter "FullyQualifiedName~LeaderKillTests"

# The broker and operator images from Dockerfile.broker and Dockerfile.operator, tagged with the project's version (the
# chart's appVersion); the broker also as :latest, the tag the chart deploys. Needs a Docker engine (see .ci/run).
VERSION ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$$/\1/p' charts/strimzi-kafka-operator/Chart.yaml)
images:
	docker build -f Dockerfile.broker -t kafka-broker:$(VERSION) -t kafka-broker:latest .
	docker build -f Dockerfile.operator -t strimzi-operator:$(VERSION) .

# The end-to-end suite (tests/EndToEnd.Tests, not part of `make test`): the images built from this checkout and run as
# containers through Testcontainers. Needs a Docker engine: eval "$$(bash ../shared/tools/container-engine.sh)".
e2e:
	$(DOTNET) build tests/EndToEnd.Tests -c $(CONFIG) -nologo -v quiet
	$(DOTNET) test tests/EndToEnd.Tests -c $(CONFIG) --no-build -nologo

# Regenerates the committed protocol messages from Kafka's JSON schemas.
generate:
	$(DOTNET) run --project broker/tools/ProtocolGenerator -c $(CONFIG) -- $(SCHEMAS) broker/src/Broker.Protocol

# Regenerates crds/*.yaml and the chart's copy (charts/strimzi-kafka-operator/crds) from operator/src/Operator.Api.
crds:
	$(DOTNET) run --project operator/tools/CrdGenerator -c $(CONFIG) -- .

# BenchmarkDotNet micro-benchmarks (codec, append path) with allocation figures.
bench:
	$(DOTNET) run --project broker/bench/Broker.Benchmarks -c Release -- --filter "*" --memory

# End-to-end throughput: a broker plus the perf tool (librdkafka client), see docs/performance.md.
perf:
	bash broker/bench/perf.sh

# Replication benchmark: 3 broker processes (KRaft), RF 3, acks=all vs one broker with acks=1, and p99 at a fixed rate
# (RATE, default 50000 records/s); see docs/performance.md. Not part of `make test`.
perf-cluster:
	bash broker/bench/perf-cluster.sh

# In-process Kubernetes API server fixture on 127.0.0.1:$(APISERVER_PORT) (0 = any free port); kubeconfig in .kube/config.
APISERVER_PORT ?= 0
apiserver:
	$(DOTNET) build tests/Kube.ApiServer.Host -c $(CONFIG) -nologo -v quiet
	exec $(DOTNET) tests/Kube.ApiServer.Host/bin/$(CONFIG)/net10.0/kube-apiserver-fixture.dll $(APISERVER_PORT) .kube/config

# The pod runner (tests/Kube.PodRunner, "the kubelet") against the kubeconfig `make apiserver` wrote: every pod of that
# API server runs as Docker containers on a network of its own, removed on Ctrl+C. Needs a Docker engine.
podrunner:
	$(DOTNET) build tests/Kube.PodRunner.Host -c $(CONFIG) -nologo -v quiet
	exec $(DOTNET) tests/Kube.PodRunner.Host/bin/$(CONFIG)/net10.0/kube-pod-runner.dll .kube/config

# Kubernetes without Kubernetes (tests/scripts/kube-local.sh): the API-server fixture, the pod runner and the operator
# image together, CRDs installed, kubeconfig in .kube/config; `kubectl apply` a Kafka and its brokers run as containers.
kube-local:
	exec bash tests/scripts/kube-local.sh

# The cluster operator against $(KUBECONFIG) (or in-cluster config), watching $(STRIMZI_NAMESPACE); install the CRDs
# first (kubectl apply -f crds/). Leader election uses the Lease strimzi-cluster-operator in that namespace.
OPERATOR_DLL := operator/src/Operator.Host/bin/$(CONFIG)/net10.0/cluster-operator.dll
STRIMZI_NAMESPACE ?= default
STRIMZI_HEALTH_PORT ?= 8080
operator:
	$(DOTNET) build operator/src/Operator.Host -c $(CONFIG) -nologo -v quiet
	STRIMZI_NAMESPACE=$(STRIMZI_NAMESPACE) STRIMZI_HEALTH_PORT=$(STRIMZI_HEALTH_PORT) exec $(DOTNET) $(OPERATOR_DLL)

clean:
	$(DOTNET) clean Operator.sln -nologo -v quiet
	rm -rf data
