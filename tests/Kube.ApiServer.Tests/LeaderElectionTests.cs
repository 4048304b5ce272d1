using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;

namespace Kube.ApiServer.Tests;

/// <summary>k8s.LeaderElection over a coordination.k8s.io Lease between two clients.</summary>
public sealed class LeaderElectionTests
{
    [Fact]
    public async Task LeaseLock_TwoCandidates_OneLeadsThenTheOtherTakesOverWhenItStops()
    {
        await using var server = await KubeApiServer.StartAsync();
        using var clientA = server.CreateClient();
        using var clientB = server.CreateClient();
        LeaderElector Elector(k8s.Kubernetes client, string id) => new(new LeaderElectionConfig(new LeaseLock(client, "default", "operator-lock", id))
        {
            // Long enough that the leader renews in time on a loaded 2-core CI machine.
            LeaseDuration = TimeSpan.FromSeconds(3),
            RenewDeadline = TimeSpan.FromSeconds(2),
            RetryPeriod = TimeSpan.FromMilliseconds(100),
        });
        var a = Elector(clientA, "a");
        var b = Elector(clientB, "b");
        var aLeads = new TaskCompletionSource();
        var bLeads = new TaskCompletionSource();
        a.OnStartedLeading += () => aLeads.TrySetResult();
        b.OnStartedLeading += () => bLeads.TrySetResult();

        using var stopA = new CancellationTokenSource();
        using var stopB = new CancellationTokenSource();
        var runA = a.RunUntilLeadershipLostAsync(stopA.Token);
        await aLeads.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var runB = b.RunUntilLeadershipLostAsync(stopB.Token);
        await Task.Delay(400);
        Assert.False(bLeads.Task.IsCompleted);
        Assert.True(a.IsLeader());

        var lease = await clientA.CoordinationV1.ReadNamespacedLeaseAsync("operator-lock", "default");
        Assert.Equal("a", lease.Spec.HolderIdentity);

        await stopA.CancelAsync();
        await bLeads.Task.WaitAsync(TimeSpan.FromSeconds(10));
        lease = await clientB.CoordinationV1.ReadNamespacedLeaseAsync("operator-lock", "default");
        Assert.Equal("b", lease.Spec.HolderIdentity);
        Assert.True(lease.Spec.LeaseTransitions >= 1);

        await stopB.CancelAsync();
        await Task.WhenAll(runA, runB).ContinueWith(_ => { }, TaskScheduler.Default);
    }
}
