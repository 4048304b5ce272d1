using System.Diagnostics;
using Broker.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace EndToEnd.Tests.Kube;

/// <summary>
/// Kubernetes end to end without a cluster: the operator image reconciles an example in the API-server fixture and
/// the pod runner runs the pods it asks for, real kafka-broker containers, until the Kafka reports Ready by itself
/// (nothing marks pods ready by hand); then a client reaches the cluster through its bootstrap Service name.
/// The persistent example's whole life is <see cref="KafkaLifecycleOnRunnerTests"/>; the single-node one goes through
/// <c>make kube-local</c> in <see cref="KubeLocalTests"/>.
/// </summary>
public sealed class OperatorWithPodRunnerTests(ITestOutputHelper output)
{
    // kafka-single-node.yaml (a dual-role node) is what KubeLocalTests applies; kafka-persistent.yaml is KafkaLifecycleOnRunnerTests'.
    [Theory]
    [InlineData("kafka/kafka-ephemeral.yaml")]
    public async Task Example_PodsRunAndTheKafkaBecomesReady_KcatReachesTheBootstrapService(string example)
    {
        await using var cluster = await OperatorOnRunner.StartAsync(output, "op");
        var started = Stopwatch.StartNew();
        await cluster.Api.CreateExampleAsync(example);
        await cluster.WaitForKafkaReadyAsync("applied", TimeSpan.FromMinutes(2));
        cluster.Log($"MEASURE {example} to Ready: {started.Elapsed.TotalSeconds:F1} s");

        var bootstrap = $"{OperatorOnRunner.Cluster}-kafka-bootstrap.{OperatorOnRunner.Namespace}.svc.cluster.local:9092";
        // The topic is auto-created with the example's replication factor just after the cluster became Ready: the
        // first metadata may have no leader yet ("Unknown partition"), so produce is retried; duplicates are fine here.
        ProcessResult produced = null!;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            produced = await cluster.KcatAsync("a:1\nb:2\n", "-b", bootstrap, "-t", "through-the-operator", "-P", "-K:");
            if (produced.ExitCode == 0)
            {
                break;
            }
            await Task.Delay(1000);
        }
        Assert.True(produced.ExitCode == 0, $"kcat produce through {bootstrap} failed: {produced.Describe()}");
        Assert.Equal([("a", "1"), ("b", "2")], (await Broker.KcatContainer.ConsumeAsync(cluster.Network, bootstrap, "through-the-operator")).Distinct());
        cluster.AssertOperatorStayedWithinTheChartsRbac();
    }
}
