using System.Threading.Channels;
using Broker.Cluster.Network;
using Broker.Protocol.Messages;

namespace Broker.Cluster.Tests.Replication;

/// <summary>What one follower fetch asked for (the fetcher reuses its request objects, so they are copied). Immutable.</summary>
internal sealed record FetchSnapshot(int ReplicaId, long ReplicaEpoch, int MaxWaitMs, int MinBytes, int MaxBytes, List<FetchedPartition> Partitions);

/// <summary>One partition of a <see cref="FetchSnapshot"/>. Immutable.</summary>
internal sealed record FetchedPartition(Guid TopicId, int Partition, long FetchOffset, int CurrentLeaderEpoch, int LastFetchedEpoch, long LogStartOffset, int MaxBytes);

/// <summary>
/// A leader on a simulated network: every Fetch the fetcher sends waits until the test answers it (or fails it), so
/// tests control exactly what the follower sees and when. Thread-safe.
/// </summary>
internal sealed class ScriptedLeader : IKafkaRequestSender
{
    private readonly Channel<(FetchSnapshot Request, TaskCompletionSource<FetchResponse> Answer)> _requests =
        Channel.CreateUnbounded<(FetchSnapshot, TaskCompletionSource<FetchResponse>)>();

    public bool Disposed { get; private set; }

    public int Pending => _requests.Reader.Count;

    public async Task<KafkaResponse<TResponse>> SendAsync<TResponse>(IApiMessage request, short version, CancellationToken cancellationToken)
        where TResponse : IApiMessage, new()
    {
        var fetch = (FetchRequest)request;
        var partitions = new List<FetchedPartition>();
        foreach (var topic in fetch.Topics)
        {
            foreach (var p in topic.Partitions)
            {
                partitions.Add(new FetchedPartition(topic.TopicId, p.Partition, p.FetchOffset, p.CurrentLeaderEpoch, p.LastFetchedEpoch, p.LogStartOffset, p.PartitionMaxBytes));
            }
        }

        var answer = new TaskCompletionSource<FetchResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _requests.Writer.WriteAsync((new FetchSnapshot(fetch.ReplicaState.ReplicaId, fetch.ReplicaState.ReplicaEpoch, fetch.MaxWaitMs,
            fetch.MinBytes, fetch.MaxBytes, partitions), answer), cancellationToken);
        var response = await answer.Task.WaitAsync(cancellationToken);
        return new KafkaResponse<TResponse>((TResponse)(object)response);
    }

    /// <summary>The next fetch the follower sent (waits up to 30 s for it).</summary>
    public async Task<(FetchSnapshot Request, TaskCompletionSource<FetchResponse> Answer)> NextAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await _requests.Reader.ReadAsync(timeout.Token);
    }

    public static FetchResponse Answer(Guid topicId, FetchResponse.PartitionData data) => new()
    {
        Responses = [new FetchResponse.FetchableTopicResponse { TopicId = topicId, Partitions = [data] }],
    };

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        return ValueTask.CompletedTask;
    }
}
