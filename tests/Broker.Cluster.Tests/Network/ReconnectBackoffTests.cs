using Broker.Cluster.Network;

namespace Broker.Cluster.Tests.Network;

/// <summary>Kafka's exponential reconnect backoff (reconnect.backoff.ms doubling to reconnect.backoff.max.ms, 20 % jitter).</summary>
public sealed class ReconnectBackoffTests
{
    [Theory]
    [InlineData(1, 50)]
    [InlineData(2, 100)]
    [InlineData(3, 200)]
    [InlineData(5, 800)]
    [InlineData(6, 1000)]
    [InlineData(40, 1000)]
    public void Compute_NoJitter_DoublesUpToTheMaximum(int failures, int expectedMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), ReconnectBackoff.Compute(failures, 50, 1_000, random01: 0.5));
    }

    [Fact]
    public void Compute_Jitter_StaysWithinTwentyPercentAndUnderTheMaximum()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(40), ReconnectBackoff.Compute(1, 50, 1_000, random01: 0));
        Assert.True(ReconnectBackoff.Compute(1, 50, 1_000, random01: 0.999) <= TimeSpan.FromMilliseconds(60));
        Assert.Equal(TimeSpan.FromMilliseconds(1_000), ReconnectBackoff.Compute(10, 50, 1_000, random01: 0.999));
    }

    [Fact]
    public void Compute_ZeroInitialBackoff_ReconnectsAtOnce()
    {
        Assert.Equal(TimeSpan.Zero, ReconnectBackoff.Compute(3, 0, 1_000, 0.5));
    }
}
