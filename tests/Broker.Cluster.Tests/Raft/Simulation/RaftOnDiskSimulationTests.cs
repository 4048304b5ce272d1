using Broker.Cluster.Raft;
using Broker.Storage;
using Xunit.Abstractions;

namespace Broker.Cluster.Tests.Raft.Simulation;

/// <summary>
/// The simulation over the real storage (PartitionRaftLog in <c>__cluster_metadata-0</c>, quorum-state files): message
/// loss, delays and partitions (no crashes: a live process cannot lose its page cache), so on-disk truncation and the
/// epoch cache face real divergence. Few seeds, since every append is fsynced.
/// </summary>
public sealed class RaftOnDiskSimulationTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "raft-disk-sim-" + Guid.NewGuid().ToString("N"));
    private readonly List<LogManager> _managers = [];

    public void Dispose()
    {
        foreach (var manager in _managers)
        {
            manager.Dispose();
        }

        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void Simulation_RealStorageWithPartitionsLossAndSnapshots_KeepsSafetyTruncatesOnDiskAndAgrees()
    {
        var truncations = new int[1];
        var snapshots = new int[1];
        for (var seed = 1; seed <= 2; seed++)
        {
            Run(seed, truncations, snapshots);
        }

        Assert.True(snapshots[0] > 5, $"only {snapshots[0]} snapshots written");

        // Divergent uncommitted tails really were cut from the segment files (not only from the in-memory log).
        Assert.True(truncations[0] > 0, "no seed made a follower truncate");
    }

    private void Run(int seed, int[] truncations, int[] snapshots)
    {
        var time = new ManualTime(1_700_000_000_000);
        var sim = new RaftSimulation(seed, voters: 3, observers: 0, storage: id =>
        {
            var options = new LogManagerOptions([Path.Combine(_root, $"{seed}-{id}")], id, "MkU3OEVBNTcwNTJENDM2Qg", LogConfig.Default);
            var logs = LogManager.Open(options, time);
            _managers.Add(logs);
            var log = PartitionRaftLog.Open(logs, time);
            return (new CountingLog(log, truncations), new FileQuorumStateStore(log.DirectoryPath, [1, 2, 3]));
        });
        sim.StartAll();
        SimulationScenarios.ScheduleClient(sim, 0, 10_000);
        SimulationScenarios.ScheduleFaults(sim, 0, 10_000);
        SimulationScenarios.ScheduleSnapshots(sim, 0, 10_000);
        sim.RunUntil(10_000);

        var recovery = SimulationScenarios.HealAndAwaitCommit(sim, 30_000);

        output.WriteLine($"seed {seed}: {sim.EventCount} events, {sim.Committed.Count} committed batches, {truncations[0]} truncations so far, recovered in {recovery} ms");
        var committed = sim.Committed.Select(b => (b.BaseOffset, b.LastOffset, b.Epoch)).ToList();
        Assert.True(committed.Count > 10);
        foreach (var node in sim.Nodes)
        {
            // Below the log start the batches are in the node's latest snapshot file; from it on, in its segments.
            var start = node.Log.StartOffset;
            var kept = committed.Where(b => b.BaseOffset >= start).ToList();
            Assert.Equal(kept, RaftTestData.ReadAll(node.Log).Take(kept.Count));
            if (start > 0)
            {
                Assert.Equal(start, node.Log.LatestSnapshot!.Value.Offset);
                Assert.True(File.Exists(Path.Combine(_root, $"{seed}-{node.Id}", "__cluster_metadata-0", SnapshotFiles.FileName(node.Log.LatestSnapshot.Value))));
            }
        }

        snapshots[0] += sim.Nodes.Sum(n => n.SnapshotsTaken);
    }
}

/// <summary>Counts truncations that removed data, passing everything else through. Owned by one replica.</summary>
internal sealed class CountingLog(IRaftLog inner, int[] truncations) : IRaftLog
{
    public OffsetAndEpoch EndOffset => inner.EndOffset;

    public long FlushedOffset => inner.FlushedOffset;

    public long AppendAsLeader(Memory<byte> batches, int epoch) => inner.AppendAsLeader(batches, epoch);

    public long AppendAsFollower(ReadOnlyMemory<byte> batches) => inner.AppendAsFollower(batches);

    public long TruncateTo(long offset)
    {
        var before = inner.EndOffset.Offset;
        var after = inner.TruncateTo(offset);
        if (after < before)
        {
            truncations[0]++;
        }

        return after;
    }

    public OffsetAndEpoch EndOffsetForEpoch(int epoch) => inner.EndOffsetForEpoch(epoch);

    public ReadOnlyMemory<byte> Read(long offset, int maxBytes) => inner.Read(offset, maxBytes);

    public void Flush() => inner.Flush();

    public void UpdateHighWatermark(long offset) => inner.UpdateHighWatermark(offset);

    public long StartOffset => inner.StartOffset;

    public OffsetAndEpoch? LatestSnapshot => inner.LatestSnapshot;

    public ReadOnlyMemory<byte> ReadSnapshot(OffsetAndEpoch id) => inner.ReadSnapshot(id);

    public void StoreSnapshot(OffsetAndEpoch id, ReadOnlySpan<byte> content) => inner.StoreSnapshot(id, content);

    public IReadOnlyList<OffsetAndEpoch> Snapshots => inner.Snapshots;

    public long SizeInBytes => inner.SizeInBytes;

    public long SnapshotSizeInBytes(OffsetAndEpoch id) => inner.SnapshotSizeInBytes(id);

    public long? SnapshotTimestamp(OffsetAndEpoch id) => inner.SnapshotTimestamp(id);

    public bool DeleteBeforeSnapshot(OffsetAndEpoch id) => inner.DeleteBeforeSnapshot(id);
}
