using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Protocol;

namespace Broker.Cluster.Tests.Controller;

/// <summary>
/// Seeded random runs of broker failures, restarts, controlled shutdowns, ISR changes, reassignments and elections
/// against one controller, checking Kafka's partition invariants after every step.
/// </summary>
public sealed class ControllerSimulationTests
{
    private const int Brokers = 5;
    private const int Steps = 400;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task Simulation_RandomFailuresAndAdminActions_PartitionInvariantsHoldAfterEveryStep(int seed)
    {
        var random = new Random(seed);
        var fixture = ControllerFixture.WithBrokers();
        var epochs = new Dictionary<int, long>();
        for (var id = 1; id <= Brokers; id++)
        {
            await RestartAsync(fixture, id, epochs);
        }

        var created = await fixture.Topics.CreateTopicsAsync(
            [new NewTopic("a", 6, 3, null, new Dictionary<string, string?>()),
             new NewTopic("b", 4, 2, null, new Dictionary<string, string?> { ["unclean.leader.election.enable"] = "true" })],
            false, CancellationToken.None);
        Assert.All(created, r => Assert.Equal(ErrorCode.None, r.Error));
        var lastEpochs = Snapshot(fixture.Image);
        var steps = new List<string>();

        for (var step = 0; step < Steps; step++)
        {
            var broker = random.Next(1, Brokers + 1);
            var action = random.Next(11);
            steps.Add($"{action}:{broker}");
            switch (action)
            {
                case 0: // the broker stops heartbeating; everyone else keeps theirs
                    fixture.Clock.Advance(9001);
                    for (var other = 1; other <= Brokers; other++)
                    {
                        if (other != broker)
                        {
                            await HeartbeatAsync(fixture, other, epochs, shutDown: false);
                        }
                    }

                    await fixture.Lifecycle.FenceExpiredSessionsAsync(CancellationToken.None);
                    break;
                case 1:
                    if (epochs.TryGetValue(broker, out var epoch))
                    {
                        await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(broker, epoch, fixture.Image.Offset, WantFence: true, false), CancellationToken.None);
                    }

                    break;
                case 2:
                    await HeartbeatAsync(fixture, broker, epochs, shutDown: false);
                    break;
                case 3:
                    await HeartbeatAsync(fixture, broker, epochs, shutDown: true);
                    await HeartbeatAsync(fixture, broker, epochs, shutDown: true);
                    break;
                case 4:
                    fixture.Clock.Advance(9001);
                    await RestartAsync(fixture, broker, epochs);
                    break;
                case 5:
                    await ChangeIsrAsync(fixture, random, shrink: true);
                    break;
                case 6:
                    await ChangeIsrAsync(fixture, random, shrink: false);
                    break;
                case 7:
                    await ReassignAsync(fixture, random);
                    break;
                case 8:
                    await fixture.Elections.ElectLeadersAsync(random.Next(2) == 0 ? ElectionKind.Preferred : ElectionKind.Unclean, null, CancellationToken.None);
                    break;
                case 9:
                    await fixture.Elections.RebalanceAsync(CancellationToken.None);
                    break;
                default:
                    if (random.Next(4) == 0 && await fixture.Lifecycle.UnregisterAsync(broker, CancellationToken.None) == ErrorCode.None)
                    {
                        epochs.Remove(broker);
                    }

                    break;
            }

            var context = $"seed {seed}, step {step}: {string.Join(' ', steps.TakeLast(8))}";
            CheckInvariants(fixture.Image, lastEpochs, context);
            lastEpochs = Snapshot(fixture.Image);
        }
    }

    private static async Task RestartAsync(ControllerFixture fixture, int id, Dictionary<int, long> epochs)
    {
        var result = await fixture.Lifecycle.RegisterAsync(
            new BrokerRegistrationRequestInfo(id, ControllerFixture.ClusterId, Guid.NewGuid(), [new BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9090 + id, 0)], [], $"rack-{id % 3}"),
            CancellationToken.None);
        if (result.Error == ErrorCode.None)
        {
            epochs[id] = result.BrokerEpoch;
            await HeartbeatAsync(fixture, id, epochs, shutDown: false);
        }
        else
        {
            Assert.Equal(ErrorCode.DuplicateBrokerRegistration, result.Error);
        }
    }

    private static async Task HeartbeatAsync(ControllerFixture fixture, int id, Dictionary<int, long> epochs, bool shutDown)
    {
        if (epochs.TryGetValue(id, out var epoch))
        {
            var result = await fixture.Lifecycle.HeartbeatAsync(new BrokerHeartbeatInfo(id, epoch, fixture.Image.Offset, false, shutDown), CancellationToken.None);
            Assert.Equal(ErrorCode.None, result.Error);
        }
    }

    private static async Task ChangeIsrAsync(ControllerFixture fixture, Random random, bool shrink)
    {
        var (topic, partition) = Pick(fixture.Image, random);
        if (partition.Leader < 0)
        {
            return;
        }

        List<int> isr = [.. partition.Isr];
        if (shrink)
        {
            var others = isr.Where(r => r != partition.Leader).ToList();
            if (others.Count == 0)
            {
                return;
            }

            isr.Remove(others[random.Next(others.Count)]);
        }
        else
        {
            var candidates = partition.Replicas.Where(r => !isr.Contains(r)).ToList();
            if (candidates.Count == 0)
            {
                return;
            }

            isr.Add(candidates[random.Next(candidates.Count)]);
        }

        var result = await fixture.Topics.AlterPartitionAsync(
            new AlterIsrRequest(topic.TopicId, partition.Partition, partition.Leader, partition.LeaderEpoch, partition.PartitionEpoch, isr), CancellationToken.None);
        Assert.True(result.Error is ErrorCode.None or ErrorCode.IneligibleReplica, $"AlterPartition: {result.Error}");
    }

    private static async Task ReassignAsync(ControllerFixture fixture, Random random)
    {
        var (topic, partition) = Pick(fixture.Image, random);
        List<int>? target = null;
        if (random.Next(4) != 0)
        {
            target = [.. Enumerable.Range(1, Brokers).OrderBy(_ => random.Next()).Take(random.Next(1, 4))];
        }

        var result = Assert.Single(await fixture.Reassignments.AlterAsync([new ReassignmentRequest(topic.Name, partition.Partition, target)], CancellationToken.None));
        Assert.True(result.Error is ErrorCode.None or ErrorCode.NoReassignmentInProgress or ErrorCode.InvalidReplicaAssignment, $"Reassign: {result.Error}");
    }

    private static (TopicInfo Topic, PartitionInfo Partition) Pick(MetadataImage image, Random random)
    {
        var topics = image.TopicsByName.Values.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var topic = topics[random.Next(topics.Count)];
        return (topic, topic.Partitions[random.Next(topic.Partitions.Length)]);
    }

    private static Dictionary<(string, int), (int LeaderEpoch, int PartitionEpoch)> Snapshot(MetadataImage image) =>
        image.TopicsByName.Values.SelectMany(t => t.Partitions.Select(p => ((t.Name, p.Partition), (p.LeaderEpoch, p.PartitionEpoch)))).ToDictionary();

    private static void CheckInvariants(MetadataImage image, Dictionary<(string, int), (int LeaderEpoch, int PartitionEpoch)> before, string context)
    {
        bool Acceptable(int id) => image.Brokers.TryGetValue(id, out var b) && !b.Fenced && !b.InControlledShutdown;

        foreach (var topic in image.TopicsByName.Values)
        {
            foreach (var p in topic.Partitions)
            {
                var where = $"{topic.Name}-{p.Partition} {p} replicas [{string.Join(',', p.Replicas)}] isr [{string.Join(',', p.Isr)}] ({context})";
                Assert.True(p.Replicas.Length > 0 && p.Replicas.Distinct().Count() == p.Replicas.Length, "replicas distinct and non-empty: " + where);
                Assert.True(p.Isr.Length > 0 && p.Isr.Distinct().Count() == p.Isr.Length, "ISR distinct and non-empty: " + where);
                Assert.True(p.Isr.All(p.Replicas.Contains), "ISR within replicas: " + where);
                Assert.True(p.AddingReplicas.All(p.Replicas.Contains) && p.RemovingReplicas.All(p.Replicas.Contains), "adding/removing within replicas: " + where);
                Assert.True(!p.AddingReplicas.Intersect(p.RemovingReplicas).Any(), "adding and removing disjoint: " + where);
                if (p.Leader >= 0)
                {
                    Assert.True(p.Isr.Contains(p.Leader) && Acceptable(p.Leader), "leader is a live ISR member: " + where);
                }
                else
                {
                    Assert.True(!p.Isr.Any(Acceptable), "offline only without a live ISR member: " + where);
                }

                var (leaderEpoch, partitionEpoch) = before[(topic.Name, p.Partition)];
                Assert.True(p.LeaderEpoch >= leaderEpoch && p.PartitionEpoch >= partitionEpoch, "epochs never go back: " + where);
            }
        }
    }
}
