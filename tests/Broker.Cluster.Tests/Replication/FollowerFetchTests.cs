using Broker.Cluster.Replication;
using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Cluster.Tests.Replication;

/// <summary>The follower's handling of a leader's fetch answer, on a real log without sockets.</summary>
public sealed class FollowerFetchTests : IDisposable
{
    private const int Backoff = 1_000;
    private readonly ManualClock _clock = new();
    private readonly TempLogs _logs;

    public FollowerFetchTests()
    {
        _logs = new TempLogs(_clock);
    }

    public void Dispose() => _logs.Dispose();

    private static FetchResponse.PartitionData Answer(byte[]? records, long highWatermark, long logStart = 0, ErrorCode error = ErrorCode.None) => new()
    {
        PartitionIndex = 0,
        ErrorCode = (short)error,
        HighWatermark = highWatermark,
        LogStartOffset = logStart,
        Records = records,
    };

    [Fact]
    public void Process_LeaderBatches_AppendedWithTheLeadersOffsetsAndEpochs()
    {
        var partition = _logs.NewPartition();
        var state = new FollowerFetchState(partition, leaderId: 1, leaderEpoch: 2);
        var records = LeaderBatches.Concat(LeaderBatches.Batch(0, 3, epoch: 1), LeaderBatches.Batch(3, 2, epoch: 2));

        var outcome = FollowerFetch.Process(state, Answer(records, highWatermark: 4), _clock.NowMs, Backoff);

        Assert.Equal(FollowerFetchOutcome.Appended, outcome);
        Assert.Equal(5, partition.Log.LogEndOffset);
        Assert.Equal(5, state.FetchOffset);
        Assert.Equal(4, partition.Log.HighWatermark);
        Assert.Equal([new(1, 0), new(2, 3)], partition.Log.LeaderEpochs.Entries);
    }

    [Fact]
    public void Process_LeaderHighWatermarkAboveLocalEnd_CappedAtTheLocalLogEnd()
    {
        var partition = _logs.NewPartition();
        var state = new FollowerFetchState(partition, 1, 1);

        FollowerFetch.Process(state, Answer(LeaderBatches.Batch(0, 2, 1), highWatermark: 100), _clock.NowMs, Backoff);

        Assert.Equal(2, partition.Log.HighWatermark);
    }

    [Fact]
    public void Process_BatchesAlreadyHeldAndPartialTail_OnlyNewWholeBatchesAppended()
    {
        var partition = _logs.NewPartition();
        var state = new FollowerFetchState(partition, 1, 1);
        FollowerFetch.Process(state, Answer(LeaderBatches.Batch(0, 2, 1), 2), _clock.NowMs, Backoff);
        var second = LeaderBatches.Batch(2, 2, 1);
        var third = LeaderBatches.Batch(4, 2, 1);

        // The leader resent the first batch and cut the last one short at its byte limit.
        var records = LeaderBatches.Concat(LeaderBatches.Batch(0, 2, 1), second, third[..(third.Length - 5)]);
        FollowerFetch.Process(state, Answer(records, 4), _clock.NowMs, Backoff);

        Assert.Equal(4, partition.Log.LogEndOffset);
        Assert.Equal(4, state.FetchOffset);
    }

    [Fact]
    public void Process_DivergingEpoch_TruncatesToWhereTheLeadersEpochEnds()
    {
        var partition = _logs.NewPartition();
        var state = new FollowerFetchState(partition, 1, 3);

        // Epoch 2 was written by an old leader and never committed (HW 3); the new leader's epoch 1 ends at 3.
        var records = LeaderBatches.Concat(LeaderBatches.Batch(0, 3, 1), LeaderBatches.Batch(3, 3, 2));
        FollowerFetch.Process(state, Answer(records, 3), _clock.NowMs, Backoff);
        Assert.Equal(2, FollowerFetch.FillRequest(state, 1024).LastFetchedEpoch);

        var diverging = Answer(null, 3);
        diverging.DivergingEpoch = new FetchResponse.EpochEndOffset { Epoch = 1, EndOffset = 3 };
        var outcome = FollowerFetch.Process(state, diverging, _clock.NowMs, Backoff);

        Assert.Equal(FollowerFetchOutcome.Truncated, outcome);
        Assert.Equal(3, partition.Log.LogEndOffset);
        Assert.Equal(3, state.FetchOffset);
        Assert.Equal(1, partition.Log.LeaderEpochs.LatestEpoch);

        // The leader's epoch-3 batches now follow on.
        FollowerFetch.Process(state, Answer(LeaderBatches.Batch(3, 1, 3), 4), _clock.NowMs, Backoff);
        Assert.Equal([new(1, 0), new(3, 3)], partition.Log.LeaderEpochs.Entries);
    }

    [Fact]
    public void Process_LeaderLogStartMoved_FollowerLogStartFollowsUpToItsHighWatermark()
    {
        var partition = _logs.NewPartition();
        var state = new FollowerFetchState(partition, 1, 1);

        FollowerFetch.Process(state, Answer(LeaderBatches.Batch(0, 5, 1), highWatermark: 2, logStart: 4), _clock.NowMs, Backoff);
        Assert.Equal(2, partition.Log.LogStartOffset); // not beyond the local high watermark

        FollowerFetch.Process(state, Answer(null, highWatermark: 5, logStart: 4), _clock.NowMs, Backoff);
        Assert.Equal(4, partition.Log.LogStartOffset);
    }

    [Fact]
    public void Process_OutOfRangeBehindTheLeadersLogStart_DropsTheLogAndFetchesFromTheLeadersStart()
    {
        var partition = _logs.NewPartition();
        var state = new FollowerFetchState(partition, 1, 1);
        FollowerFetch.Process(state, Answer(LeaderBatches.Batch(0, 2, 1), 2), _clock.NowMs, Backoff);

        var outcome = FollowerFetch.Process(state, Answer(null, highWatermark: 20, logStart: 10, ErrorCode.OffsetOutOfRange), _clock.NowMs, Backoff);

        Assert.Equal(FollowerFetchOutcome.Truncated, outcome);
        Assert.Equal(10, state.FetchOffset);
        Assert.Equal(0, partition.Log.LogEndOffset - partition.Log.LogStartOffset);
        Assert.Equal(LeaderEpochCacheUndefined, FollowerFetch.FillRequest(state, 1024).LastFetchedEpoch);

        FollowerFetch.Process(state, Answer(LeaderBatches.Batch(10, 3, 1), highWatermark: 13, logStart: 10), _clock.NowMs, Backoff);
        Assert.Equal(13, partition.Log.LogEndOffset);
        Assert.Equal(10, partition.Log.LogStartOffset);
        Assert.Equal(13, partition.Log.HighWatermark);
    }

    [Fact]
    public void Process_OutOfRangeWholeLogBelowTheLeadersStart_LogRestartsAtTheLeadersStart()
    {
        var partition = _logs.NewPartition();
        var state = new FollowerFetchState(partition, 1, 2);
        FollowerFetch.Process(state, Answer(LeaderBatches.Batch(0, 4, 1), 4), _clock.NowMs, Backoff);

        var outcome = FollowerFetch.Process(state, Answer(null, highWatermark: 120, logStart: 100, ErrorCode.OffsetOutOfRange), _clock.NowMs, Backoff);

        // Kafka's truncateFullyAndStartAt: start, end and high watermark are the leader's start, and no epoch is left,
        // so the next request tells the leader the truth about this replica.
        Assert.Equal(FollowerFetchOutcome.Truncated, outcome);
        var log = partition.Log;
        Assert.Equal((100L, 100L, 100L), (log.LogStartOffset, log.LogEndOffset, log.HighWatermark));
        Assert.Empty(log.LeaderEpochs.Entries);
        var request = FollowerFetch.FillRequest(state, 1024);
        Assert.Equal((100L, 100L, LeaderEpochCacheUndefined), (request.FetchOffset, request.LogStartOffset, request.LastFetchedEpoch));

        FollowerFetch.Process(state, Answer(LeaderBatches.Batch(100, 5, 2), highWatermark: 105, logStart: 100), _clock.NowMs, Backoff);
        Assert.Equal((100L, 105L, 105L), (log.LogStartOffset, log.LogEndOffset, log.HighWatermark));
        Assert.Equal([new(2, 100)], log.LeaderEpochs.Entries);
    }

    private const int LeaderEpochCacheUndefined = -1;

    [Theory]
    [InlineData(ErrorCode.NotLeaderOrFollower)]
    [InlineData(ErrorCode.FencedLeaderEpoch)]
    [InlineData(ErrorCode.UnknownLeaderEpoch)]
    [InlineData(ErrorCode.UnknownTopicId)]
    public void Process_LeadershipErrors_BackOffWithoutTouchingTheLog(ErrorCode error)
    {
        var partition = _logs.NewPartition();
        var state = new FollowerFetchState(partition, 1, 1);
        FollowerFetch.Process(state, Answer(LeaderBatches.Batch(0, 2, 1), 2), _clock.NowMs, Backoff);

        var outcome = FollowerFetch.Process(state, Answer(LeaderBatches.Batch(2, 2, 1), 4, 0, error), _clock.NowMs, Backoff);

        Assert.Equal(FollowerFetchOutcome.Delayed, outcome);
        Assert.Equal(_clock.NowMs + Backoff, state.DelayedUntilMs);
        Assert.Equal(2, partition.Log.LogEndOffset);
    }

    [Fact]
    public void FillRequest_FollowerState_CarriesLeaderEpochLastFetchedEpochAndLogStart()
    {
        var partition = _logs.NewPartition(index: 0);
        var state = new FollowerFetchState(partition, 1, 7);
        FollowerFetch.Process(state, Answer(LeaderBatches.Batch(0, 4, 6), 4), _clock.NowMs, Backoff);

        var entry = FollowerFetch.FillRequest(state, 1 << 20);

        Assert.Equal(7, entry.CurrentLeaderEpoch);
        Assert.Equal(6, entry.LastFetchedEpoch);
        Assert.Equal(4, entry.FetchOffset);
        Assert.Equal(0, entry.LogStartOffset);
        Assert.Equal(1 << 20, entry.PartitionMaxBytes);
    }
}
