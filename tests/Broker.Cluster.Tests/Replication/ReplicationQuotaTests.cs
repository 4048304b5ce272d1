using Broker.Cluster.Replication;

namespace Broker.Cluster.Tests.Replication;

public sealed class ReplicationQuotaTests
{
    private const long T0 = 1_000_000;

    [Theory]
    [InlineData("0:1", true, 0, 1)]
    [InlineData(" 12 : 3 ", true, 12, 3)]
    [InlineData("0:", false, 0, 0)]
    [InlineData(":1", false, 0, 0)]
    [InlineData("a:1", false, 0, 0)]
    [InlineData("-1:1", false, 0, 0)]
    [InlineData("1:99999999999", false, 0, 0)]
    [InlineData("*", false, 0, 0)]
    public void TryParseReplica_AcceptsOnlyPartitionColonBroker(string entry, bool valid, int partition, int broker)
    {
        Assert.Equal(valid, ReplicationQuota.TryParseReplica(entry, out var p, out var b));
        if (valid)
        {
            Assert.Equal((partition, broker), (p, b));
        }
    }

    [Fact]
    public void Rate_OneSample_DividedByAtLeastOneWindow()
    {
        var quota = new ReplicationQuota(samples: 11, windowMs: 1000);
        quota.Record(10_000, T0);

        Assert.Equal(10_000, quota.RateBytesPerSecond(T0 + 500));
        Assert.Equal(2_000, quota.RateBytesPerSecond(T0 + 5_000));
    }

    [Fact]
    public void Rate_SamplesOlderThanTheWholeSpan_NoLongerCount()
    {
        var quota = new ReplicationQuota(samples: 3, windowMs: 1000);
        quota.Record(3_000, T0);
        quota.Record(3_000, T0 + 2_500);

        Assert.Equal(6_000 / 2.9, quota.RateBytesPerSecond(T0 + 2_900), 3);
        Assert.Equal(3_000, quota.RateBytesPerSecond(T0 + 3_001), 3); // the first sample left the 3 s span
        Assert.Equal(0, quota.RateBytesPerSecond(T0 + 10_000));
    }

    [Fact]
    public void Record_WindowsRollAndReuseTheOldestSlot()
    {
        var quota = new ReplicationQuota(samples: 2, windowMs: 1000);
        quota.Record(1_000, T0);
        quota.Record(1_000, T0 + 1_000);
        quota.Record(1_000, T0 + 1_999); // same window as the previous record
        quota.Record(4_000, T0 + 2_000); // a third window replaces the first

        Assert.Equal(6_000 / 1.5, quota.RateBytesPerSecond(T0 + 2_500), 3);
    }

    [Fact]
    public void IsExceeded_OnlyAboveASetBound()
    {
        var quota = new ReplicationQuota();
        quota.Record(5_000, T0);
        Assert.False(quota.IsExceeded(T0 + 100));

        quota.UpdateBound(5_000);
        Assert.False(quota.IsExceeded(T0 + 100)); // at the bound is acceptable, as Kafka's Quota.acceptable
        quota.UpdateBound(4_999);
        Assert.True(quota.IsExceeded(T0 + 100));
        quota.UpdateBound(-1);
        Assert.Equal(ReplicationQuota.Unlimited, quota.Bound);
        Assert.False(quota.IsExceeded(T0 + 100));
    }

    [Fact]
    public void UpdateThrottledReplicas_WildcardAndPairsNamingThisBrokerOnly()
    {
        var quota = new ReplicationQuota();
        quota.UpdateBound(100);
        quota.UpdateThrottledReplicas(
            [KeyValuePair.Create("all", "*"), KeyValuePair.Create("some", " 0:1, 2:1 ,1:2"), KeyValuePair.Create("others", "0:2,1:3")], nodeId: 1);

        Assert.True(quota.IsActive);
        Assert.True(quota.IsThrottled("all", 7));
        Assert.True(quota.IsThrottled("some", 0));
        Assert.True(quota.IsThrottled("some", 2));
        Assert.False(quota.IsThrottled("some", 1));
        Assert.False(quota.IsThrottled("others", 0));
        Assert.False(quota.IsThrottled("unknown", 0));

        quota.UpdateThrottledReplicas([], nodeId: 1);
        Assert.False(quota.IsThrottled("all", 7));
        Assert.False(quota.IsActive);
    }
}
