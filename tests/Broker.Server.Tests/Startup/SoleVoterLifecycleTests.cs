using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;
using Broker.Protocol.Records;
using Broker.Server.Configuration;
using Broker.Server.Observability;
using Broker.Server.Raft;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Server.Tests.Startup;

/// <summary>
/// A node without controller.quorum.voters registers, heartbeats and shuts down through its own controller's broker
/// lifecycle, as a KRaft combined node whose controller is active: the metadata log holds a fenced registration, the
/// unfence, session fencing when heartbeats stop, and the controlled-shutdown changes. Most tests drive the membership
/// step by step on a fake clock (no sockets); the last ones start and stop the real host.
/// </summary>
public sealed class SoleVoterLifecycleTests : IDisposable
{
    private const long HeartbeatIntervalMs = 2000;
    private const long SessionTimeoutMs = 9000;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sole-voter-lifecycle-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private BrokerConfig Config() => BrokerConfig.Load(null, new Dictionary<string, string>(), new Dictionary<string, string>
    {
        ["node.id"] = "1",
        ["listeners"] = "PLAINTEXT://127.0.0.1:0",
        ["log.dirs"] = _root,
        ["offsets.topic.replication.factor"] = "1",
        ["transaction.state.log.replication.factor"] = "1",
        ["transaction.state.log.min.isr"] = "1",
        ["health.port"] = "-1",
        ["metrics.port"] = "-1",
    });

    /// <summary>The metadata records of the log (control batches skipped) with their offsets, read from the segment files.</summary>
    private List<(long Offset, IApiMessage Record)> MetadataLog()
    {
        var records = new List<(long, IApiMessage)>();
        foreach (var segment in Directory.GetFiles(Path.Combine(_root, MetadataTopic.TopicName + "-0"), "*.log").Order(StringComparer.Ordinal))
        {
            using var stream = new FileStream(segment, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
            foreach (var (batch, record) in RecordBatchReader.ReadAll(bytes))
            {
                if (!batch.IsControl && MetadataRecordSerde.Read(record.Value) is { } message)
                {
                    records.Add((record.Offset, message));
                }
            }
        }

        return records;
    }

    /// <summary>This broker's registrations and registration changes in log order, as short strings.</summary>
    private List<string> RegistrationHistory(long afterOffset = -1) =>
        [.. MetadataLog().Where(r => r.Offset > afterOffset).Select(r => r.Record switch
        {
            RegisterBrokerRecord register => $"register epoch {register.BrokerEpoch} fenced {register.Fenced}",
            BrokerRegistrationChangeRecord { Fenced: 1 } change => $"fence epoch {change.BrokerEpoch}",
            BrokerRegistrationChangeRecord { Fenced: -1 } change => $"unfence epoch {change.BrokerEpoch}",
            BrokerRegistrationChangeRecord { InControlledShutdown: 1 } change => $"controlled shutdown epoch {change.BrokerEpoch}",
            _ => null,
        }).OfType<string>()];

    /// <summary>The components and the membership the host would build, on the fake clock, not started.</summary>
    private (BrokerComponents Components, QuorumMembership Membership) Open()
    {
        var config = Config();
        var components = BrokerComponents.Create(config, NullLoggerFactory.Instance, _time);
        var membership = BrokerHost.CreateMembership(config, components, [new BrokerEndpoint("PLAINTEXT", "127.0.0.1", 9092, 0)], _time, NullLogger.Instance);
        return (components, membership!);
    }

    private static async Task CloseAsync(BrokerComponents components, QuorumMembership membership)
    {
        await membership.DisposeAsync();
        await components.Fetchers.DisposeAsync();
        components.Dispose();
    }

    private static async Task CreateTopicAsync(BrokerComponents components, string name)
    {
        var result = await components.Services.Topics.CreateTopicsAsync([new NewTopic(name, 2, 1, null, new Dictionary<string, string?>())], false, CancellationToken.None);
        Assert.Equal(ErrorCode.None, Assert.Single(result).Error);
    }

    [Fact]
    public async Task StepAsync_FirstStep_RegistersFencedThroughItsOwnControllerThenUnfences()
    {
        var (components, membership) = Open();
        try
        {
            await membership.StepAsync(CancellationToken.None);

            var epoch = membership.BrokerEpoch;
            Assert.True(epoch >= 0);
            Assert.Equal(epoch, components.Logs.BrokerEpoch);
            var broker = components.Metadata.Image.Brokers[1];
            Assert.False(broker.Fenced);
            Assert.Equal(epoch, broker.Epoch);
            Assert.Equal([$"register epoch {epoch} fenced True", $"unfence epoch {epoch}"], RegistrationHistory());

            // The registration declares what this software supports, kraft.version included, as Kafka's brokers do.
            var register = MetadataLog().Select(r => r.Record).OfType<RegisterBrokerRecord>().Single();
            Assert.Equal(
                [("kraft.version", (short)0, (short)1), ("metadata.version", MetadataFeatures.MetadataVersionLevel, MetadataFeatures.MetadataVersionLevel)],
                register.Features.Select(f => (f.Name, f.MinSupportedVersion, f.MaxSupportedVersion)).Order());
            Assert.Equal(9092, register.EndPoints.Single().Port);
        }
        finally
        {
            await CloseAsync(components, membership);
        }
    }

    [Fact]
    public async Task StepAsync_HeartbeatsEveryInterval_KeepTheSession_MissedSessionFencesThenTheNextHeartbeatUnfences()
    {
        var (components, membership) = Open();
        try
        {
            await membership.StepAsync(CancellationToken.None);
            await CreateTopicAsync(components, "t");
            var epoch = membership.BrokerEpoch;
            var registered = components.Metadata.Image.Offset;

            // Three session timeouts of heartbeats: the controller keeps the session, nothing is written.
            for (var elapsed = 0L; elapsed < 3 * SessionTimeoutMs; elapsed += HeartbeatIntervalMs)
            {
                _time.Advance(TimeSpan.FromMilliseconds(HeartbeatIntervalMs));
                await membership.StepAsync(CancellationToken.None);
            }

            Assert.Empty(RegistrationHistory(registered));
            Assert.False(components.Metadata.Image.Brokers[1].Fenced);

            // No heartbeat for longer than the session (a paused process): the controller's session check fences the
            // broker and moves its leaderships; its next heartbeat, caught up, unfences it and it leads again.
            var leaderEpoch = components.Metadata.Image.TopicsByName["t"].Partitions[0].LeaderEpoch;
            _time.Advance(TimeSpan.FromMilliseconds(SessionTimeoutMs + 1));
            await membership.StepAsync(CancellationToken.None);

            Assert.Equal([$"fence epoch {epoch}", $"unfence epoch {epoch}"], RegistrationHistory(registered));
            var partition = components.Metadata.Image.TopicsByName["t"].Partitions[0];
            Assert.Equal(1, partition.Leader);
            Assert.True(partition.LeaderEpoch > leaderEpoch);
            Assert.False(components.Metadata.Image.Brokers[1].Fenced);
            Assert.Equal(epoch, membership.BrokerEpoch);
        }
        finally
        {
            await CloseAsync(components, membership);
        }
    }

    [Fact]
    public async Task StepAsync_ControlledShutdown_LeadershipsMoveThenTheBrokerIsFencedAndTold()
    {
        var (components, membership) = Open();
        try
        {
            await membership.StepAsync(CancellationToken.None);
            await CreateTopicAsync(components, "t");
            var epoch = membership.BrokerEpoch;
            var before = components.Metadata.Image.Offset;

            Assert.True(membership.BeginControlledShutdown());
            await membership.StepAsync(CancellationToken.None);

            // The first WantShutDown: no other broker can lead, so the partitions go offline and the broker enters
            // controlled shutdown; it has not yet reported seeing that, so the shutdown is not granted yet.
            Assert.All(components.Metadata.Image.TopicsByName["t"].Partitions, p => Assert.Equal(-1, p.Leader));
            Assert.True(components.Metadata.Image.Brokers[1].InControlledShutdown);
            Assert.False(membership.ShutdownDone.IsCompleted);

            // Kafka's broker asks again 50 ms after the first answer.
            _time.Advance(TimeSpan.FromMilliseconds(50));
            await membership.StepAsync(CancellationToken.None);

            Assert.True(membership.ShutdownDone.IsCompleted);
            Assert.True(await membership.ShutdownDone);
            Assert.Equal([$"controlled shutdown epoch {epoch}", $"fence epoch {epoch}"], RegistrationHistory(before));
            Assert.True(components.Metadata.Image.Brokers[1].Fenced);
        }
        finally
        {
            await CloseAsync(components, membership);
        }
    }

    [Fact]
    public async Task StepAsync_RestartAfterACrash_ReplacesTheUnfencedRegistrationAtOnceWithANewEpoch()
    {
        long oldEpoch;
        var (components, membership) = Open();
        try
        {
            await membership.StepAsync(CancellationToken.None);
            await CreateTopicAsync(components, "t");
            oldEpoch = membership.BrokerEpoch;
        }
        finally
        {
            // No controlled shutdown: the registration stays unfenced, as after a crash.
            await CloseAsync(components, membership);
        }

        (components, membership) = Open();
        try
        {
            var reopened = components.Metadata.Image.Offset;
            await membership.StepAsync(CancellationToken.None);

            // Kafka's controller would keep the old registration's session for broker.session.timeout.ms; a sole voter
            // knows its only earlier controller was its own earlier process, so the new incarnation registers at once.
            var epoch = membership.BrokerEpoch;
            Assert.True(epoch > oldEpoch);
            Assert.Equal([$"register epoch {epoch} fenced True", $"unfence epoch {epoch}"], RegistrationHistory(reopened));
            Assert.Equal(1, components.Metadata.Image.TopicsByName["t"].Partitions[0].Leader);
            Assert.False(components.Metadata.Image.Brokers[1].Fenced);
        }
        finally
        {
            await CloseAsync(components, membership);
        }
    }

    [Fact]
    public async Task StartAsync_ThenGracefulStop_ControlledShutdownInTheLog_RestartRegistersWithANewEpoch()
    {
        // A topic this node leads, left by an earlier process that stopped without a controlled shutdown.
        var (components, membership) = Open();
        await membership.StepAsync(CancellationToken.None);
        await CreateTopicAsync(components, "t");
        await CloseAsync(components, membership);
        var prepared = MetadataLog()[^1].Offset;

        var config = Config();
        long firstEpoch;
        var broker = await BrokerHost.StartAsync(config, NullLoggerFactory.Instance, TimeProvider.System, CancellationToken.None);
        try
        {
            // Serving only once unfenced, as Kafka's broker: by the time StartAsync returns the broker leads again.
            Assert.Equal(BrokerState.Running, broker.State);
            var registration = broker.Metadata.Brokers[1];
            Assert.False(registration.Fenced);
            Assert.All(broker.Metadata.TopicsByName["t"].Partitions, p => Assert.Equal(1, p.Leader));
            firstEpoch = registration.Epoch;
        }
        finally
        {
            await broker.DisposeAsync();
        }

        // The graceful stop asked for a controlled shutdown before the listeners closed: leaderships moved (nobody else
        // can lead, so the partitions went offline), then the broker was fenced and told to shut down.
        Assert.Equal(
            [$"register epoch {firstEpoch} fenced True", $"unfence epoch {firstEpoch}", $"controlled shutdown epoch {firstEpoch}", $"fence epoch {firstEpoch}"],
            RegistrationHistory(prepared));
        Assert.All(broker.ImageAtListenerStop!.TopicsByName["t"].Partitions, p => Assert.Equal(-1, p.Leader));
        var stopped = MetadataLog()[^1].Offset;

        broker = await BrokerHost.StartAsync(config, NullLoggerFactory.Instance, TimeProvider.System, CancellationToken.None);
        try
        {
            var registration = broker.Metadata.Brokers[1];
            Assert.False(registration.Fenced);
            Assert.False(registration.InControlledShutdown);
            Assert.True(registration.Epoch > firstEpoch);
            Assert.Equal([$"register epoch {registration.Epoch} fenced True", $"unfence epoch {registration.Epoch}"], RegistrationHistory(stopped));
            Assert.All(broker.Metadata.TopicsByName["t"].Partitions, p => Assert.Equal(1, p.Leader));
        }
        finally
        {
            await broker.DisposeAsync();
        }
    }

    [Fact]
    public async Task StartAsync_DataDirWrittenBeforeRaft_RegistersAndServesItsTopic()
    {
        PreRaftDataDir.CopyTo(_root);
        var oldEpoch = MetadataLog().Select(r => r.Record).OfType<RegisterBrokerRecord>().Single().BrokerEpoch;

        var broker = await BrokerHost.StartAsync(Config(), NullLoggerFactory.Instance, TimeProvider.System, CancellationToken.None);
        try
        {
            // The old log's registration is unfenced and has no features; the new one replaces it at once.
            var registration = broker.Metadata.Brokers[1];
            Assert.False(registration.Fenced);
            Assert.True(registration.Epoch > oldEpoch);
            Assert.Equal(1, broker.Metadata.TopicsByName["legacy"].Partitions[0].Leader);
            Assert.True(broker.Replicas.Get("legacy", 0)!.IsLeader);
        }
        finally
        {
            await broker.DisposeAsync();
        }
    }
}
