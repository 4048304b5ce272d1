using Broker.Cluster.Replication;
using Broker.Storage;

namespace Broker.Cluster.Tests.Replication;

/// <summary>Where a follower cuts its log for a leader's diverging epoch (Kafka's getOffsetTruncationState).</summary>
public sealed class FollowerTruncationTests
{
    private static LeaderEpochCache Cache(params (int Epoch, long Start)[] entries) =>
        LeaderEpochCache.InMemory(entries.Select(e => new EpochEntry(e.Epoch, e.Start)));

    [Fact]
    public void SameEpochOnBothSides_CutsWhereTheLeadersEpochEnds()
    {
        // Follower wrote epoch 3 up to 120; the leader's epoch 3 ended at 100 (epoch 4 began there).
        var point = FollowerTruncation.Compute(3, 100, Cache((1, 0), (3, 50)), localEndOffset: 120, highWatermark: 40);

        Assert.Equal(new TruncationPoint(100, true), point);
    }

    [Fact]
    public void FollowerNeverSawTheLeadersEpoch_CutsToItsOwnOlderEpochEnd_AndAsksAgain()
    {
        // Leader answers epoch 2 ending at 70; the follower has epochs 1 and 3 only: its largest at most 2 is 1, ending at 50.
        var point = FollowerTruncation.Compute(2, 70, Cache((1, 0), (3, 50)), localEndOffset: 120, highWatermark: 40);

        Assert.Equal(new TruncationPoint(50, false), point);
    }

    [Fact]
    public void LeaderKnowsNothing_FallsBackToTheHighWatermark()
    {
        var point = FollowerTruncation.Compute(-1, -1, Cache((1, 0)), localEndOffset: 120, highWatermark: 40);

        Assert.Equal(new TruncationPoint(40, true), point);
    }

    [Fact]
    public void NeverBeyondTheLocalEnd()
    {
        Assert.Equal(new TruncationPoint(30, true), FollowerTruncation.Compute(3, 100, Cache((3, 0)), localEndOffset: 30, highWatermark: 10));
        Assert.Equal(new TruncationPoint(30, true), FollowerTruncation.Compute(3, 100, Cache(), localEndOffset: 30, highWatermark: 10));
    }
}
