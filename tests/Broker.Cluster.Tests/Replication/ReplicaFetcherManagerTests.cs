using Broker.Cluster.Replication;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Broker.Cluster.Tests.Replication;

/// <summary>Which fetch loop fetches which partition (Kafka's ReplicaFetcherManager), on a simulated network.</summary>
public sealed class ReplicaFetcherManagerTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new();
    private readonly TempLogs _logs;
    private readonly List<(int Leader, int Index, ScriptedLeader Connection)> _connections = [];
    private readonly ReplicaFetcherManager _manager;

    public ReplicaFetcherManagerTests()
    {
        _logs = new TempLogs(_time);
        _manager = new ReplicaFetcherManager(new ReplicaFetcherOptions(NodeId: 2, NumFetchers: 2), (leader, index) =>
        {
            var connection = new ScriptedLeader();
            lock (_connections)
            {
                _connections.Add((leader, index, connection));
            }

            return connection;
        }, () => 1, _time, NullLoggerFactory.Instance);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _manager.DisposeAsync();
        _logs.Dispose();
    }

    [Fact]
    public void Follow_PartitionsOfTwoLeaders_OneFetcherPerLeaderAndHashedIndex()
    {
        var partitions = Enumerable.Range(0, 8).Select(i => _logs.NewPartition("t", i)).ToArray();

        _manager.Follow([.. partitions.Select(p => new FollowerAssignment(p, p.Index % 2 == 0 ? 1 : 3, 0))]);

        var fetchers = _manager.Fetchers;
        Assert.All(fetchers, f => Assert.Contains(f.LeaderId, new[] { 1, 3 }));
        Assert.Equal(8, fetchers.Sum(f => f.PartitionCount));
        foreach (var partition in partitions)
        {
            var index = ReplicaFetcherManager.FetcherIndexFor(partition.TopicId, partition.Index, 2);
            Assert.InRange(index, 0, 1);
            Assert.Contains(fetchers, f => f.LeaderId == (partition.Index % 2 == 0 ? 1 : 3) && f.FetcherIndex == index);
        }

        Assert.Equal(fetchers.Count, _connections.Count);
    }

    [Fact]
    public void Follow_NewLeader_PartitionMovesToThatLeadersFetcher()
    {
        var partition = _logs.NewPartition();
        _manager.Follow([new FollowerAssignment(partition, 1, 0)]);

        _manager.Follow([new FollowerAssignment(partition, 3, 1)]);

        Assert.Equal(0, _manager.Fetchers.Single(f => f.LeaderId == 1).PartitionCount);
        Assert.Equal(1, _manager.Fetchers.Single(f => f.LeaderId == 3).PartitionCount);
    }

    [Fact]
    public void Unfollow_Partition_RemovedFromItsFetcher()
    {
        var partition = _logs.NewPartition();
        _manager.Follow([new FollowerAssignment(partition, 1, 0)]);

        _manager.Unfollow([partition]);

        Assert.Equal(0, Assert.Single(_manager.Fetchers).PartitionCount);
    }

    [Fact]
    public async Task DisposeAsync_StopsEveryFetcherAndIgnoresLaterAssignments()
    {
        _manager.Follow([new FollowerAssignment(_logs.NewPartition("t", 0), 1, 0), new FollowerAssignment(_logs.NewPartition("t", 1), 3, 0)]);

        await _manager.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        _manager.Follow([new FollowerAssignment(_logs.NewPartition("t", 2), 1, 0)]);

        Assert.Empty(_manager.Fetchers);
        Assert.All(_connections, c => Assert.True(c.Connection.Disposed));
    }
}
