using System.Text.Json;
using Broker.Cluster.Raft;
using Broker.Storage;

namespace Broker.Cluster.Tests.Raft;

/// <summary>
/// Three replicas over the real storage (PartitionRaftLog in <c>__cluster_metadata-0</c>, FileQuorumStateStore), driven
/// through a synchronous in-process message pump and a manual clock; then every node is closed and reopened.
/// </summary>
public sealed class RaftOnDiskTests : IDisposable
{
    private static readonly QuorumConfig Three = TestQuorums.Of(1, 2, 3);
    private readonly string _root = Path.Combine(Path.GetTempPath(), "raft-disk-" + Guid.NewGuid().ToString("N"));
    private readonly ManualTime _time = new(1_700_000_000_000);
    private readonly Dictionary<int, (LogManager Logs, PartitionRaftLog Log, RaftReplica Replica, RecordingListener Listener)> _nodes = [];

    public void Dispose()
    {
        foreach (var node in _nodes.Values)
        {
            node.Logs.Dispose();
        }

        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void Cluster_AppendsThenFullRestart_KeepsLogsQuorumStateAndCommittedBatches()
    {
        OpenAll(seed: 1);
        var leader = AwaitLeader();
        for (var i = 0; i < 20; i++)
        {
            Assert.True(_nodes[leader].Replica.TryAppend([RaftTestData.Value(i)], _time.NowMs, out _));
            Run(50);
        }

        Run(1000);
        var committed = _nodes[leader].Listener.Committed;
        Assert.Equal(21, committed.Count);
        Assert.All(_nodes.Values, n => Assert.Equal(committed, n.Listener.Committed));
        var epoch = _nodes[leader].Replica.Epoch;
        using (var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(_nodes[leader].Log.DirectoryPath, "quorum-state"))))
        {
            Assert.Equal(leader, state.RootElement.GetProperty("leaderId").GetInt32());
            Assert.Equal(epoch, state.RootElement.GetProperty("leaderEpoch").GetInt32());
            Assert.Equal(0, state.RootElement.GetProperty("data_version").GetInt32());
        }

        foreach (var node in _nodes.Values)
        {
            node.Logs.Dispose();
        }

        _nodes.Clear();
        OpenAll(seed: 2);
        var next = AwaitLeader();
        Assert.True(_nodes[next].Replica.TryAppend([RaftTestData.Value(99)], _time.NowMs, out _));
        Run(1000);

        Assert.True(_nodes[next].Replica.Epoch > epoch);
        var replayed = _nodes[next].Listener.Committed;
        Assert.Equal(committed, replayed.Take(committed.Count));
        Assert.True(replayed.Count >= committed.Count + 2);
        Assert.All(_nodes.Values, n => Assert.Equal(replayed, n.Listener.Committed));
    }

    private void OpenAll(int seed)
    {
        foreach (var id in Three.VoterIds)
        {
            var options = new LogManagerOptions([Path.Combine(_root, $"node-{id}")], id, "MkU3OEVBNTcwNTJENDM2Qg", LogConfig.Default);
            var logs = LogManager.Open(options, _time);
            var log = PartitionRaftLog.Open(logs, _time);
            var listener = new RecordingListener();
            var replica = new RaftReplica(id, Three, log, new FileQuorumStateStore(log.DirectoryPath, Three.VoterIds), new Random(seed * 10 + id), listener);
            _nodes[id] = (logs, log, replica, listener);
        }

        foreach (var node in _nodes.Values)
        {
            node.Replica.Start(_time.NowMs);
        }
    }

    private int AwaitLeader()
    {
        for (var i = 0; i < 3000; i++)
        {
            Run(10);
            if (_nodes.Values.SingleOrDefault(n => n.Replica.Role == RaftRole.Leader) is { Replica: not null } leader)
            {
                return leader.Replica.LocalId;
            }
        }

        throw new Xunit.Sdk.XunitException("No leader within 30 s of simulated time.");
    }

    /// <summary>Advances the clock in 10 ms steps, polling every replica and delivering every message at once.</summary>
    private void Run(long ms)
    {
        var end = _time.NowMs + ms;
        while (_time.NowMs < end)
        {
            _time.NowMs += 10;
            foreach (var node in _nodes.Values)
            {
                node.Replica.Poll(_time.NowMs);
            }

            var moved = true;
            while (moved)
            {
                moved = false;
                foreach (var node in _nodes.Values)
                {
                    while (node.Replica.TryDequeue(out var message))
                    {
                        _nodes[message.Destination].Replica.Handle(message, _time.NowMs);
                        moved = true;
                    }
                }
            }
        }
    }
}
