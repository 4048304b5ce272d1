using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Cluster.Replication;
using Broker.Protocol;
using Broker.Protocol.Metadata;
using Broker.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Cluster.Tests.Replication;

/// <summary>
/// How the leader's ISR proposals (AlterPartition) end: settled by an answer or an image, dropped on a final refusal,
/// and sent again while the controller cannot be reached, as Kafka's AlterPartitionManager does.
/// </summary>
public sealed class IsrProposalTests : IDisposable
{
    private const int Me = 1;
    private const long LagMs = 10_000;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));
    private readonly TempLogs _logs;
    private readonly ReplicaManager _replicas;
    private readonly List<AlterIsrRequest> _sent = [];
    private readonly Queue<Func<AlterIsrResult>> _answers = new();

    public IsrProposalTests()
    {
        _logs = new TempLogs(_time);
        _replicas = new ReplicaManager(Me, _logs.Manager, (_, _) => LogConfig.Default with { FileDeleteDelayMs = 0 },
            new ReplicaManagerOptions(LagMs, _time, AlterAsync), NullLogger<ReplicaManager>.Instance);
        var image = new MetadataImageBuilder(MetadataImage.Empty("cluster", 1));
        image.Apply(TestTopic.Topic(), 1);
        image.Apply(TestTopic.Partition(Me), 2);
        _replicas.Apply(image.Build());
    }

    public void Dispose()
    {
        _replicas.StopProposals();
        _logs.Dispose();
    }

    private ReplicaSet Set => _replicas.All().Single().Replicas!;

    private Task<AlterIsrResult> AlterAsync(AlterIsrRequest request, CancellationToken cancellationToken)
    {
        lock (_sent)
        {
            _sent.Add(request);
            return Task.FromResult(_answers.Dequeue()());
        }
    }

    private int SentCount
    {
        get
        {
            lock (_sent)
            {
                return _sent.Count;
            }
        }
    }

    /// <summary>Both followers silent past replica.lag.time.max.ms: the leader proposes an ISR of itself.</summary>
    private IsrChange? ProposeShrink()
    {
        _time.Advance(TimeSpan.FromMilliseconds(LagMs + 1));
        Assert.Equal(1, _replicas.CheckIsrShrink());
        return Set.Pending;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }

    /// <summary>
    /// Moves the fake clock on by <paramref name="step"/> until <paramref name="condition"/> holds: the retry arms its
    /// timer after the failed attempt returns, so an advance landing before that would be missed (the first advance is
    /// enough whenever the timer was already armed).
    /// </summary>
    private async Task AdvanceUntilAsync(TimeSpan step, Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            _time.Advance(step);
            await Task.Delay(10);
        }

        Assert.True(condition());
    }

    [Fact]
    public async Task Propose_ControllerUnreachableThenAccepts_SameProposalSentAgainAndKeptPendingMeanwhile()
    {
        _answers.Enqueue(() => throw new IOException("connection refused"));
        _answers.Enqueue(() => new AlterIsrResult(ErrorCode.NotController, null));
        _answers.Enqueue(() => new AlterIsrResult(ErrorCode.None, null));

        var change = Assert.IsType<IsrChange>(ProposeShrink());
        await WaitUntilAsync(() => SentCount == 1);
        // Not dropped: it may have been committed, so the high watermark keeps counting the larger ISR.
        Assert.Same(change, Set.Pending);
        Assert.Equal([1, 2, 3], Set.MaximalIsr);

        await AdvanceUntilAsync(TimeSpan.FromMilliseconds(100), () => SentCount == 2);
        Assert.Same(change, Set.Pending);
        await AdvanceUntilAsync(TimeSpan.FromMilliseconds(200), () => SentCount == 3);

        Assert.All(_sent, request => Assert.Equal([Me], request.NewIsr));
        Assert.All(_sent, request => Assert.Equal((0, 0), (request.LeaderEpoch, request.PartitionEpoch)));
        _time.Advance(TimeSpan.FromSeconds(5));
        await Task.Delay(50);
        Assert.Equal(3, SentCount);
    }

    [Theory]
    [InlineData(ErrorCode.OperationNotAttempted)]
    [InlineData(ErrorCode.IneligibleReplica)]
    public async Task Propose_RefusedForGood_DroppedAndNotSentAgain(ErrorCode error)
    {
        _answers.Enqueue(() => new AlterIsrResult(error, null));

        ProposeShrink();
        await WaitUntilAsync(() => SentCount == 1 && Set.Pending is null);

        _time.Advance(TimeSpan.FromSeconds(5));
        await Task.Delay(50);
        Assert.Equal(1, SentCount);
    }

    [Fact]
    public async Task Propose_FencedLeaderEpoch_KeptPendingUntilTheImageWithoutRetrying()
    {
        _answers.Enqueue(() => new AlterIsrResult(ErrorCode.FencedLeaderEpoch, null));

        var change = Assert.IsType<IsrChange>(ProposeShrink());
        await WaitUntilAsync(() => SentCount == 1);

        _time.Advance(TimeSpan.FromSeconds(5));
        await Task.Delay(50);
        Assert.Equal(1, SentCount);
        Assert.Same(change, Set.Pending);
    }

    [Fact]
    public async Task StopProposals_WhileRetrying_NoMoreAttempts()
    {
        _answers.Enqueue(() => throw new IOException("connection refused"));

        ProposeShrink();
        await WaitUntilAsync(() => SentCount == 1);
        _replicas.StopProposals();

        _time.Advance(TimeSpan.FromSeconds(5));
        await Task.Delay(50);
        Assert.Equal(1, SentCount);
    }
}
