using k8s;
using Kube.ApiServer;
using Microsoft.Extensions.Logging.Abstractions;

namespace Operator.Kube.Tests;

/// <summary>Two operator instances on one Lease: only the leader works, the other takes over when it stops.</summary>
public sealed class LeaderElectionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static LeaderElection Instance(Kubernetes client, string identity) => new(client, new LeaderElectionOptions("default", "strimzi-cluster-operator", identity)
    {
        // Short enough for a quick takeover, long enough that a leader on a loaded 2-core CI machine renews in time.
        LeaseDuration = TimeSpan.FromSeconds(3),
        RenewDeadline = TimeSpan.FromSeconds(2),
        RetryPeriod = TimeSpan.FromMilliseconds(100),
    }, NullLogger.Instance);

    [Fact]
    public async Task RunAsync_TwoInstances_OnlyOneWorksAndTheOtherTakesOverWhenItStops()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var clientA = server.CreateClient();
        using var clientB = server.CreateClient();
        var a = Instance(clientA, "operator-a");
        var b = Instance(clientB, "operator-b");
        var aWorking = new TaskCompletionSource();
        var aStopped = new TaskCompletionSource();
        var bWorking = new TaskCompletionSource();
        using var stopA = new CancellationTokenSource();
        using var stopB = new CancellationTokenSource();

        var runA = a.RunAsync(async token =>
        {
            aWorking.TrySetResult();
            await Task.Delay(Timeout, token).ContinueWith(_ => { }, TaskScheduler.Default);
            aStopped.TrySetResult();
        }, stopA.Token);
        await aWorking.Task.WaitAsync(Timeout);
        var runB = b.RunAsync(token =>
        {
            bWorking.TrySetResult();
            return Task.Delay(Timeout, token).ContinueWith(_ => { }, TaskScheduler.Default);
        }, stopB.Token);

        await Task.Delay(500);
        Assert.True(a.IsLeader);
        Assert.False(b.IsLeader);
        Assert.False(bWorking.Task.IsCompleted);

        await stopA.CancelAsync();
        await aStopped.Task.WaitAsync(Timeout);
        await bWorking.Task.WaitAsync(Timeout);
        Assert.True(b.IsLeader);
        var lease = await clientB.CoordinationV1.ReadNamespacedLeaseAsync("strimzi-cluster-operator", "default");
        Assert.Equal("operator-b", lease.Spec.HolderIdentity);

        await stopB.CancelAsync();
        await Task.WhenAll(runA, runB).WaitAsync(Timeout);
    }
}
