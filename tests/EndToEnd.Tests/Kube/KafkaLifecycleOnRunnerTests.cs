using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Broker.FaultTests.Infrastructure;
using Broker.IntegrationTests.Infrastructure;
using EndToEnd.Tests.Cluster;
using EndToEnd.Tests.Infrastructure;
using EndToEnd.Tests.Operator;
using k8s;
using k8s.Models;
using Operator.Api;
using Xunit.Abstractions;

namespace EndToEnd.Tests.Kube;

/// <summary>
/// One Kafka cluster's life on Kubernetes, run for real through the API-server fixture, the pod runner and the operator
/// image: examples/kafka/kafka-persistent.yaml applied (three controllers, three brokers, persistent claims) becomes
/// Ready; a change of spec.kafka.config rolls it under an idempotent acks=all producer without losing an acknowledged
/// record; a deleted broker pod comes back with its volume and rejoins the ISR; the broker pool scaled from 3 to 4 gets
/// a broker that takes partitions when asked; deleting the Kafka collects what it owns and keeps the claims that
/// deleteClaim does not release, and the operator (installed from the chart) made no request its RBAC denies. The steps share the cluster and run in order (each starts from where the last left
/// it; after a failed step the rest fail at once, naming it). Timings go to the test output.
/// </summary>
[TestCaseOrderer(StepOrderer.TypeName, StepOrderer.AssemblyName)]
public sealed partial class KafkaLifecycleOnRunnerTests(KafkaLifecycleOnRunnerTests.Lifecycle lifecycle, ITestOutputHelper output)
    : IClassFixture<KafkaLifecycleOnRunnerTests.Lifecycle>
{
    private const string Topic = "rolling";
    private const int Partitions = 3;
    private const int RecordsPerSecond = 200;
    private const int Progress = 100;
    private const string NewRetention = "123456789";
    private const string DataPath = "/var/lib/kafka/data-0";

    private static readonly TimeSpan RollTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    [Step(1)]
    public Task Apply_PersistentExample_KafkaReadyWithBootstrapServersAndAClientProducesAndConsumes() => StepAsync(nameof(Apply_PersistentExample_KafkaReadyWithBootstrapServersAndAClientProducesAndConsumes), async () =>
    {
        var cluster = lifecycle.Cluster = await OperatorOnRunner.StartAsync(output, "life");
        var documents = await ApiServerWithCrds.ReadExampleAsync("kafka/kafka-persistent.yaml");
        foreach (var doc in documents)
        {
            switch ((string?)doc["kind"], (string?)doc["metadata"]!["name"])
            {
                // The controllers' claims go with the cluster, the brokers' stay (the example's deleteClaim: false).
                case ("KafkaNodePool", "controller"):
                    doc["spec"]!["storage"]!["volumes"]![0]!["deleteClaim"] = true;
                    break;
                // Auto-created topics (the producer's) get a partition per broker. A readiness probe from the first
                // second, every second, instead of Strimzi's default (first after 15 s, then every 10 s), keeps the
                // suite short: it shortens every wait for Ready, and the roll, by about 15 s a pod.
                case ("Kafka", _):
                    doc["spec"]!["kafka"]!["config"]!["num.partitions"] = Partitions;
                    doc["spec"]!["kafka"]!["readinessProbe"] = new JsonObject { ["initialDelaySeconds"] = 1, ["periodSeconds"] = 1 };
                    break;
            }
        }

        var applied = Stopwatch.StartNew();
        foreach (var doc in documents)
        {
            await cluster.Api.CreateAsync(doc);
        }

        var kafka = await cluster.WaitForKafkaReadyAsync("applied", TimeSpan.FromMinutes(3));
        cluster.Log($"MEASURE apply to Ready: {applied.Elapsed.TotalSeconds:F1} s");
        var plain = Assert.Single(kafka.Status!.Listeners!, l => l.Name == "plain");
        Assert.Equal(OperatorOnRunner.Bootstrap, plain.BootstrapServers);

        await cluster.ProduceRetryingAsync(plain.BootstrapServers!, "first", "a:1\nb:2\n");
        Assert.Equal([("a", "1"), ("b", "2")], (await Broker.KcatContainer.ConsumeAsync(cluster.Network, plain.BootstrapServers!, "first")).Distinct().Order());
    });

    [Fact]
    [Step(2)]
    public Task ConfigChange_RollsPodsOneAtATimeUnderLoad_NoAcknowledgedRecordLostAndEveryBrokerRunsTheNewConfig() => StepAsync(nameof(ConfigChange_RollsPodsOneAtATimeUnderLoad_NoAcknowledgedRecordLostAndEveryBrokerRunsTheNewConfig), async () =>
    {
        var cluster = lifecycle.Cluster!;
        var producer = lifecycle.Producer = await VerifiableProducerContainer.StartAsync(cluster.Network, OperatorOnRunner.Bootstrap, Topic, Partitions, RecordsPerSecond);
        for (var partition = 0; partition < Partitions; partition++)
        {
            await producer.WaitForProgressAsync(cluster, partition, Progress, "before the change");
        }

        var before = (await cluster.ListPodsAsync()).ToDictionary(p => p.Metadata.Name, p => p.Metadata.Uid);
        var brokers = (await cluster.ListPodsAsync($"{StrimziLabels.BrokerRole}=true")).Select(p => p.Metadata.Name).Order().ToList();
        Assert.Equal(3, brokers.Count);

        var rolling = Stopwatch.StartNew();
        await cluster.Api.MergePatchAsync("kafkas", OperatorOnRunner.Cluster, """{"spec":{"kafka":{"config":{"log.retention.ms":""" + NewRetention + "}}}}");
        cluster.Log($"spec.kafka.config changed: log.retention.ms={NewRetention}");

        // Every broker pod replaced and Ready, watching that no two nodes are ever down together.
        var mostDown = 0;
        var downAtMost = "";
        await cluster.WaitUntilAsync(async () =>
        {
            var pods = (await cluster.ListPodsAsync()).ToDictionary(p => p.Metadata.Name);
            var down = before.Keys.Where(name => !pods.TryGetValue(name, out var pod) || !OperatorOnRunner.IsReady(pod)).ToList();
            if (down.Count > mostDown)
            {
                mostDown = down.Count;
                downAtMost = string.Join(", ", down);
            }

            return brokers.All(name => pods.TryGetValue(name, out var pod) && pod.Metadata.Uid != before[name] && OperatorOnRunner.IsReady(pod));
        }, "every broker pod is restarted and Ready", RollTimeout);
        await cluster.WaitForKafkaReadyAsync("after the roll", RollTimeout);
        var after = (await cluster.ListPodsAsync()).ToDictionary(p => p.Metadata.Name, p => p.Metadata.Uid);
        var restarted = before.Keys.Where(name => after.GetValueOrDefault(name) != before[name]).Order().ToList();
        cluster.Log($"MEASURE rolling restart of {restarted.Count} pods ({string.Join(", ", restarted)}) under load: {rolling.Elapsed.TotalSeconds:F1} s");
        Assert.True(mostDown <= 1, $"{mostDown} nodes were down at once during the roll: {downAtMost}");

        for (var partition = 0; partition < Partitions; partition++)
        {
            await producer.WaitForProgressAsync(cluster, partition, Progress, "after the roll");
        }

        await producer.StopAsync(cluster);
        Assert.True(producer.ToolData is { } data && data.GetProperty("sent").GetInt64() == data.GetProperty("acked").GetInt64(),
            $"not every record sent was acknowledged: {producer.Summary()}");
        await VerifyProducedAsync(cluster, producer);

        foreach (var broker in brokers)
        {
            var id = NodeId(broker);
            var described = await cluster.CliAsync("configs", "--bootstrap-server", OperatorOnRunner.Bootstrap, "--describe", "--entity-type", "brokers",
                "--entity-name", id.ToString(CultureInfo.InvariantCulture), "--all");
            Assert.True(described.ExitCode == 0, $"kafka-broker configs --describe of broker {id} failed: {described.Describe()}");
            Assert.Contains($"log.retention.ms={NewRetention}", described.StandardOutput, StringComparison.Ordinal);
        }
    });

    [Fact]
    [Step(3)]
    public Task BrokerPodDeleted_ComesBackWithItsVolumeAndRejoinsTheIsr() => StepAsync(nameof(BrokerPodDeleted_ComesBackWithItsVolumeAndRejoinsTheIsr), async () =>
    {
        var cluster = lifecycle.Cluster!;
        var brokers = (await cluster.ListPodsAsync($"{StrimziLabels.BrokerRole}=true")).Select(p => p.Metadata.Name).Order(StringComparer.Ordinal).ToList();
        var restarted = brokers[1];
        var marker = Guid.NewGuid().ToString("N");
        var written = await cluster.ExecAsync(restarted, $"echo {marker} > {DataPath}/e2e-marker");
        Assert.True(written.ExitCode == 0, $"writing the marker into {restarted}'s volume failed: {written.Describe()}");
        var old = (await cluster.TryGetPodAsync(restarted))!;

        var deleted = Stopwatch.StartNew();
        await cluster.Client.CoreV1.DeleteNamespacedPodAsync(restarted, OperatorOnRunner.Namespace);
        V1Pod? back = null;
        await cluster.WaitUntilAsync(async () =>
        {
            back = await cluster.TryGetPodAsync(restarted);
            return back is not null && back.Metadata.Uid != old.Metadata.Uid && OperatorOnRunner.IsReady(back);
        }, $"{restarted} is back and Ready");
        cluster.Log($"MEASURE deleted broker pod back and Ready: {deleted.Elapsed.TotalSeconds:F1} s");

        var claim = Assert.Single(back!.Spec.Volumes, v => v.PersistentVolumeClaim is not null).PersistentVolumeClaim.ClaimName;
        Assert.Equal(Assert.Single(old.Spec.Volumes, v => v.PersistentVolumeClaim is not null).PersistentVolumeClaim.ClaimName, claim);
        var read = await cluster.ExecAsync(restarted, $"cat {DataPath}/e2e-marker");
        Assert.True(read.ExitCode == 0 && read.StandardOutput.Trim() == marker, $"the marker did not survive on claim {claim}: {read.Describe()}");

        var id = NodeId(restarted);
        await WaitForIsrAsync(cluster, partitions => partitions.All(p => p.Isr.Contains(id)), $"broker {id} is back in the ISR of every partition of {Topic}");
        cluster.Log($"MEASURE deleted broker pod back in every ISR: {deleted.Elapsed.TotalSeconds:F1} s");
        await VerifyProducedAsync(cluster, lifecycle.Producer!);
    });

    [Fact]
    [Step(4)]
    public Task NodePoolScaledFrom3To4_NewBrokerRegistersAndTakesPartitionsWhenAsked() => StepAsync(nameof(NodePoolScaledFrom3To4_NewBrokerRegistersAndTakesPartitionsWhenAsked), async () =>
    {
        var cluster = lifecycle.Cluster!;
        var before = (await cluster.ListPodsAsync($"{StrimziLabels.PoolName}=broker")).Select(p => p.Metadata.Name).ToHashSet(StringComparer.Ordinal);
        var scaling = Stopwatch.StartNew();
        await cluster.Api.MergePatchAsync("kafkanodepools", "broker", """{"spec":{"replicas":4}}""");

        V1Pod? added = null;
        await cluster.WaitUntilAsync(async () =>
        {
            added = (await cluster.ListPodsAsync($"{StrimziLabels.PoolName}=broker")).FirstOrDefault(p => !before.Contains(p.Metadata.Name));
            return added is not null && OperatorOnRunner.IsReady(added);
        }, "a fourth broker pod is Ready");
        // As Strimzi numbers it: the example's pools hold 0-2 (broker) and 3-5 (controller), so the new broker is node 6.
        var id = NodeId(added!.Metadata.Name);
        Assert.Equal("my-cluster-broker-6", added.Metadata.Name);
        cluster.Log($"MEASURE pool scaled 3 to 4, {added.Metadata.Name} Ready: {scaling.Elapsed.TotalSeconds:F1} s");

        await cluster.WaitUntilAsync(async () =>
        {
            var listed = await cluster.KcatAsync(null, "-b", OperatorOnRunner.Bootstrap, "-L");
            return listed.ExitCode == 0 && listed.StandardOutput.Contains($"broker {id} at ", StringComparison.Ordinal);
        }, $"broker {id} is registered (in the cluster metadata)");
        var pool = await cluster.Client.CustomObjects.GetNamespacedCustomObjectAsync(StrimziGroup.Name, StrimziGroup.StorageVersion, OperatorOnRunner.Namespace,
            "kafkanodepools", "broker");
        Assert.Contains(id, KubernetesJson.Deserialize<KafkaNodePool>(KubernetesJson.Serialize(pool)).Status?.NodeIds ?? []);

        // Asked to: partition 0 moves onto the new broker, replacing the replica that is not its leader's.
        var partitions = await DescribeAsync(cluster);
        var current = partitions.Single(p => p.Partition == 0);
        var target = new List<int> { current.Leader, id, current.Replicas.First(r => r != current.Leader) };
        var reassignment = $$"""{"version":1,"partitions":[{"topic":"{{Topic}}","partition":0,"replicas":[{{string.Join(',', target)}}]}]}""";
        var executed = await cluster.CliWithFileAsync(reassignment, "reassign-partitions", "--bootstrap-server", OperatorOnRunner.Bootstrap,
            "--reassignment-json-file", OperatorOnRunner.InputFile, "--execute");
        Assert.True(executed.ExitCode == 0, $"reassign-partitions --execute failed: {executed.Describe()}");
        await cluster.WaitUntilAsync(async () =>
        {
            var verified = await cluster.CliWithFileAsync(reassignment, "reassign-partitions", "--bootstrap-server", OperatorOnRunner.Bootstrap,
                "--reassignment-json-file", OperatorOnRunner.InputFile, "--verify");
            return verified.ExitCode == 0;
        }, $"the reassignment of {Topic}-0 onto broker {id} completes");
        await WaitForIsrAsync(cluster, all => all.Single(p => p.Partition == 0) is var p0 && p0.Replicas.Order().SequenceEqual(target.Order()) && p0.Isr.Contains(id),
            $"{Topic}-0 has replicas {string.Join(',', target)} with broker {id} in its ISR");
        cluster.Log($"MEASURE scaled and {Topic}-0 moved onto broker {id}: {scaling.Elapsed.TotalSeconds:F1} s");
        await VerifyProducedAsync(cluster, lifecycle.Producer!);
    });

    [Fact]
    [Step(5)]
    public Task KafkaDeleted_OwnedObjectsCollected_ClaimsKeptUnlessDeleteClaim() => StepAsync(nameof(KafkaDeleted_OwnedObjectsCollected_ClaimsKeptUnlessDeleteClaim), async () =>
    {
        var cluster = lifecycle.Cluster!;
        var kafka = (await cluster.TryGetKafkaAsync())!;
        var owned = await OwnedByAsync(cluster, kafka.Metadata.Uid);
        Assert.Contains(owned, o => o.StartsWith("StrimziPodSet/", StringComparison.Ordinal));
        Assert.Contains(owned, o => o.StartsWith("PersistentVolumeClaim/data-0-my-cluster-controller-", StringComparison.Ordinal));
        Assert.DoesNotContain(owned, o => o.StartsWith("PersistentVolumeClaim/data-0-my-cluster-broker-", StringComparison.Ordinal));
        Assert.Contains(owned, o => o.StartsWith("Service/", StringComparison.Ordinal));
        Assert.Contains(owned, o => o.StartsWith("Secret/", StringComparison.Ordinal));
        var claims = (await cluster.Client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(OperatorOnRunner.Namespace)).Items.Select(c => c.Metadata.Name).ToList();
        var brokerClaims = claims.Where(c => c.Contains("-broker-", StringComparison.Ordinal)).Order().ToList();
        var controllerClaims = claims.Where(c => c.Contains("-controller-", StringComparison.Ordinal)).Order().ToList();
        Assert.Equal((await cluster.ListPodsAsync($"{StrimziLabels.PoolName}=broker")).Count, brokerClaims.Count);
        Assert.Equal((await cluster.ListPodsAsync($"{StrimziLabels.PoolName}=controller")).Count, controllerClaims.Count);
        cluster.Log($"the Kafka owns {owned.Count} objects; claims: {string.Join(", ", claims)}");

        var deleting = Stopwatch.StartNew();
        await cluster.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(StrimziGroup.Name, StrimziGroup.StorageVersion, OperatorOnRunner.Namespace, "kafkas",
            OperatorOnRunner.Cluster);
        await cluster.WaitUntilAsync(async () => (await OwnedByAsync(cluster, kafka.Metadata.Uid)).Count == 0 && (await cluster.ListPodsAsync()).Count == 0,
            "everything the Kafka owned, and every pod, is gone");
        await cluster.WaitUntilAsync(async () =>
        {
            var left = (await cluster.Client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(OperatorOnRunner.Namespace)).Items.Select(c => c.Metadata.Name).Order();
            return left.SequenceEqual(brokerClaims);
        }, "only the brokers' claims (deleteClaim: false) are left");
        cluster.Log($"MEASURE Kafka deleted to everything it owned collected: {deleting.Elapsed.TotalSeconds:F1} s");

        // The operator does not bring anything back, the runner has stopped every container and freed released volumes.
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Empty(await OwnedByAsync(cluster, kafka.Metadata.Uid));
        Assert.Empty(await cluster.ListPodsAsync());
        var volumes = await ProcessRunner.RunAsync("docker", ["volume", "ls", "-q", "--filter", $"name={cluster.Runner.NetworkName}"], TimeSpan.FromSeconds(30));
        Assert.All(brokerClaims, c => Assert.Contains(cluster.Runner.ClaimVolumeName(OperatorOnRunner.Namespace, c), volumes.StandardOutput, StringComparison.Ordinal));
        Assert.All(controllerClaims, c => Assert.DoesNotContain(cluster.Runner.ClaimVolumeName(OperatorOnRunner.Namespace, c), volumes.StandardOutput, StringComparison.Ordinal));

        // Through the whole life, the operator image did only what the chart's RBAC lets it.
        cluster.AssertOperatorStayedWithinTheChartsRbac();
    });

    private async Task StepAsync(string step, Func<Task> body)
    {
        if (lifecycle.FailedStep is { } failed)
        {
            Assert.Fail($"not run: the earlier step {failed} failed, so the cluster is not in the state this step starts from");
        }

        if (lifecycle.Cluster is { } cluster)
        {
            cluster.Output = output;
        }
        else if (step != nameof(Apply_PersistentExample_KafkaReadyWithBootstrapServersAndAClientProducesAndConsumes))
        {
            Assert.Fail("not run: no cluster (the first step did not run)");
        }

        try
        {
            await body();
        }
        catch
        {
            lifecycle.FailedStep = step;
            throw;
        }
        finally
        {
            lifecycle.Cluster?.Output = null;
        }
    }

    /// <summary>Every acknowledged record of the producer is still in <see cref="Topic"/>, once, at its offset, in order (read by kcat in the cluster network).</summary>
    private async Task VerifyProducedAsync(OperatorOnRunner cluster, VerifiableProducerContainer producer) =>
        await LogChecker.VerifyAsync(Topic, Enumerable.Range(0, Partitions), async partition =>
        {
            var read = await cluster.KcatAsync(null, "-b", OperatorOnRunner.Bootstrap, "-C", "-t", Topic, "-p", partition.ToString(CultureInfo.InvariantCulture),
                "-o", "beginning", "-e", "-q", "-f", "%o %s\\n");
            Assert.True(read.ExitCode == 0, $"kcat read of {Topic}-{partition} failed: {read.Describe()}");
            return [.. read.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(' ', 2)).Select(parts =>
                (long.Parse(parts[0], CultureInfo.InvariantCulture),
                 long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence) ? sequence : -1L))];
        }, producer, output);

    private static int NodeId(string pod) => int.Parse(pod[(pod.LastIndexOf('-') + 1)..], CultureInfo.InvariantCulture);

    private sealed record PartitionState(int Partition, int Leader, List<int> Replicas, List<int> Isr);

    /// <summary>The partitions of <see cref="Topic"/> as kcat -L lists them.</summary>
    private static async Task<List<PartitionState>> DescribeAsync(OperatorOnRunner cluster)
    {
        var listed = await cluster.KcatAsync(null, "-b", OperatorOnRunner.Bootstrap, "-L", "-t", Topic);
        Assert.True(listed.ExitCode == 0, $"kcat -L failed: {listed.Describe()}");
        return [.. PartitionLine().Matches(listed.StandardOutput).Select(m => new PartitionState(
            int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture),
            Ids(m.Groups[3].Value), Ids(m.Groups[4].Value)))];
    }

    private static List<int> Ids(string list) => [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))];

    private static async Task WaitForIsrAsync(OperatorOnRunner cluster, Func<List<PartitionState>, bool> condition, string what) =>
        await cluster.WaitUntilAsync(async () =>
        {
            var partitions = await DescribeAsync(cluster);
            return partitions.Count == Partitions && condition(partitions);
        }, what);

    /// <summary>Names (Kind/name) of the namespace's objects with an owner reference to <paramref name="uid"/>.</summary>
    private static async Task<List<string>> OwnedByAsync(OperatorOnRunner cluster, string uid)
    {
        var ns = OperatorOnRunner.Namespace;
        var core = cluster.Client.CoreV1;
        IEnumerable<(string Kind, V1ObjectMeta Meta)> all =
        [
            .. JsonSerializer.SerializeToNode(await cluster.Client.CustomObjects.ListNamespacedCustomObjectAsync(CoreStrimziGroup.Name,
                CoreStrimziGroup.StorageVersion, ns, "strimzipodsets"))!["items"]!.AsArray()
                .Select(o => ("StrimziPodSet", o.Deserialize<StrimziPodSet>(Manifests.JsonOptions)!.Metadata)),
            .. (await core.ListNamespacedPersistentVolumeClaimAsync(ns)).Items.Select(o => ("PersistentVolumeClaim", o.Metadata)),
            .. (await cluster.Client.AppsV1.ListNamespacedDeploymentAsync(ns)).Items.Select(o => ("Deployment", o.Metadata)),
            .. (await core.ListNamespacedServiceAsync(ns)).Items.Select(o => ("Service", o.Metadata)),
            .. (await core.ListNamespacedConfigMapAsync(ns)).Items.Select(o => ("ConfigMap", o.Metadata)),
            .. (await core.ListNamespacedSecretAsync(ns)).Items.Select(o => ("Secret", o.Metadata)),
            .. (await core.ListNamespacedServiceAccountAsync(ns)).Items.Select(o => ("ServiceAccount", o.Metadata)),
            .. (await cluster.Client.PolicyV1.ListNamespacedPodDisruptionBudgetAsync(ns)).Items.Select(o => ("PodDisruptionBudget", o.Metadata)),
            .. (await cluster.Client.NetworkingV1.ListNamespacedNetworkPolicyAsync(ns)).Items.Select(o => ("NetworkPolicy", o.Metadata)),
        ];
        return [.. all.Where(o => o.Meta.OwnerReferences?.Any(r => r.Uid == uid) == true).Select(o => $"{o.Kind}/{o.Meta.Name}")];
    }

    [GeneratedRegex(@"partition (\d+), leader (-?\d+), replicas: ([\d,]*), isrs: ([\d,]*)")]
    private static partial Regex PartitionLine();

    /// <summary>The cluster the steps share, the producer whose records every later step checks, and the first step that failed.</summary>
    public sealed class Lifecycle : IAsyncLifetime
    {
        internal OperatorOnRunner? Cluster { get; set; }

        internal VerifiableProducerContainer? Producer { get; set; }

        internal string? FailedStep { get; set; }

        public Task InitializeAsync() => Task.CompletedTask;

        public async Task DisposeAsync()
        {
            if (Producer is not null)
            {
                await Producer.DisposeAsync();
            }

            if (Cluster is not null)
            {
                await Cluster.DisposeAsync();
            }
        }
    }
}
