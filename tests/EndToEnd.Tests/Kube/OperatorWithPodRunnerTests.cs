using System.Diagnostics;
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
        await cluster.ProduceRetryingAsync(bootstrap, "through-the-operator", "a:1\nb:2\n");
        Assert.Equal([("a", "1"), ("b", "2")], (await Broker.KcatContainer.ConsumeAsync(cluster.Network, bootstrap, "through-the-operator")).Distinct());
        cluster.AssertOperatorStayedWithinTheChartsRbac();
    }
}
