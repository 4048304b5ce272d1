using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;

namespace Broker.Cluster.Tests.Controller;

/// <summary>A clock that moves only when told. Not thread-safe; owned by one test.</summary>
internal sealed class ManualClock : TimeProvider
{
    private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(long milliseconds) => _now = _now.AddMilliseconds(milliseconds);
}

/// <summary>
/// An in-memory controller: metadata store, topic controller, the lifecycle, election and reassignment services, a
/// manual clock and seeded placement. Brokers are registered unfenced with epochs, as after their first heartbeats.
/// Owned by one test.
/// </summary>
internal sealed class ControllerFixture
{
    public const string ClusterId = "test-cluster-id-00000A";

    private ControllerFixture(LeaderElectionOptions? electionOptions)
    {
        Store = new InMemoryMetadataStore(MetadataImage.Empty(ClusterId, 1));
        Topics = new TopicController(Store, new TopicControllerOptions(1, 1, true) { PlacementRandom = new Random(42) });
        Lifecycle = new BrokerLifecycle(Topics, new BrokerLifecycleOptions(Clock));
        Elections = new LeaderElections(Topics, electionOptions ?? new LeaderElectionOptions());
        Reassignments = new ReassignmentController(Topics);
    }

    public ManualClock Clock { get; } = new();

    public InMemoryMetadataStore Store { get; }

    public TopicController Topics { get; }

    public BrokerLifecycle Lifecycle { get; }

    public LeaderElections Elections { get; }

    public ReassignmentController Reassignments { get; }

    public MetadataImage Image => Store.Image;

    public static ControllerFixture WithBrokers(params int[] ids) => WithRackedBrokers(null, [.. ids.Select(id => (id, (string?)null))]);

    public static ControllerFixture WithRackedBrokers(LeaderElectionOptions? options, params (int Id, string? Rack)[] brokers)
    {
        var fixture = new ControllerFixture(options);
        foreach (var (id, rack) in brokers)
        {
            fixture.Commit(new RegisterBrokerRecord
            {
                BrokerId = id,
                IncarnationId = new Guid(id, 0, 0, new byte[8]),
                BrokerEpoch = fixture.Image.Offset + 1,
                Rack = rack,
                Fenced = false,
                EndPoints = [new RegisterBrokerRecord.BrokerEndpoint { Name = "PLAINTEXT", Host = "127.0.0.1", Port = (ushort)(9090 + id), SecurityProtocol = 0 }],
            });
        }

        return fixture;
    }

    public MetadataImage Commit(params IApiMessage[] records) => Store.CommitAsync(records, CancellationToken.None).AsTask().GetAwaiter().GetResult();

    /// <summary>Creates a topic with a manual assignment (partition i gets <paramref name="assignments"/>[i]).</summary>
    public Guid CreateTopic(string name, int[][] assignments, Dictionary<string, string?>? configs = null)
    {
        var manual = new Dictionary<int, IReadOnlyList<int>>();
        for (var i = 0; i < assignments.Length; i++)
        {
            manual[i] = assignments[i];
        }

        var result = Topics.CreateTopicsAsync([new NewTopic(name, -1, -1, manual, configs ?? [])], false, CancellationToken.None).GetAwaiter().GetResult();
        Assert.Equal(ErrorCode.None, Assert.Single(result).Error);
        return result[0].TopicId;
    }

    public PartitionInfo Partition(string topic, int partition = 0) => Image.TopicsByName[topic].Partitions[partition];

    /// <summary>Sets a partition's ISR directly, as a committed AlterPartition would.</summary>
    public void SetIsr(string topic, int partition, params int[] isr) =>
        Commit(new PartitionChangeRecord { TopicId = Image.TopicsByName[topic].TopicId, PartitionId = partition, Isr = [.. isr] });

    public BrokerInfo Broker(int id) => Image.Brokers[id];
}
