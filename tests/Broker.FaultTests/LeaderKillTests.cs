using System.Diagnostics;
using System.Globalization;
using Broker.FaultTests.Infrastructure;
using Xunit.Abstractions;

namespace Broker.FaultTests;

/// <summary>The partition leader SIGKILLed over and over under continuous idempotent acks=all load. Not thread-safe: xunit runs each test on its own instance.</summary>
public sealed class LeaderKillTests
{
    private const string Topic = "kill-loop";
    private const int Partitions = 3;
    private readonly ITestOutputHelper _output;

    public LeaderKillTests(ITestOutputHelper output)
    {
        _output = output;
    }

    /// <summary>Rounds of the kill loop: FAULT_ROUNDS (the soak target sets it), else 10.</summary>
    private static int Rounds =>
        int.TryParse(Environment.GetEnvironmentVariable("FAULT_ROUNDS"), NumberStyles.None, CultureInfo.InvariantCulture, out var rounds) && rounds > 0 ? rounds : 10;

    [Fact]
    public async Task SigKillPartitionLeader_RepeatedUnderIdempotentLoad_EveryAcknowledgedRecordOnceInOrder()
    {
        await using var cluster = await ProcessCluster.StartAsync(_output);
        await cluster.CreateTopicAsync(Topic, Partitions);
        await using var producer = new SequenceProducer(cluster.BootstrapServers, Topic, Partitions, _output);
        producer.Start();
        await producer.WaitForAcknowledgementsAsync(cluster, 0, 0, "before the first kill");

        for (var round = 1; round <= Rounds; round++)
        {
            var clock = Stopwatch.StartNew();
            var leader = await cluster.WaitForLeaderAsync(Topic, 0, _ => true, "a leader");
            await cluster.KillAsync(leader);
            var successor = await cluster.WaitForLeaderAsync(Topic, 0, l => l != leader, $"a leader other than the killed node {leader}");
            var electedAfter = clock.Elapsed;
            await producer.WaitForAcknowledgementsAsync(cluster, 0, producer.AcknowledgedCount(0), $"round {round}: new leader {successor}");

            cluster.Start(leader);
            await cluster.WaitForFullIsrAsync(Topic, Partitions);
            _output.WriteLine($"round {round}: killed leader {leader}, node {successor} leads after {electedAfter.TotalSeconds:F1} s, " +
                $"node {leader} back in every ISR after {clock.Elapsed.TotalSeconds:F1} s; {producer.Summary()}");
        }

        await producer.StopAsync();
        Assert.True(producer.FatalError is null, $"the idempotent producer failed fatally: {producer.FatalError}");
        await LogChecker.VerifyAsync(cluster, Topic, Partitions, producer, _output);
    }
}
