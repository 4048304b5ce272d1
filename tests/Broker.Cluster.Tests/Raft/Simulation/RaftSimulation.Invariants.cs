using Broker.Cluster.Raft;

namespace Broker.Cluster.Tests.Raft.Simulation;

/// <summary>The safety invariants, checked after every event.</summary>
internal sealed partial class RaftSimulation
{
    /// <summary>
    /// Per node: its epoch never decreases (across restarts too); at most one leader per epoch; a new leader's log holds
    /// every committed batch (leader completeness); the high watermark never passes the log end.
    /// </summary>
    private void CheckNode(SimNode node)
    {
        var replica = node.Replica!;
        if (replica.Epoch < node.MaxEpoch)
        {
            Fail($"node {node.Id} went back from epoch {node.MaxEpoch} to {replica.Epoch}");
        }

        node.MaxEpoch = replica.Epoch;
        if (replica.HighWatermark > node.Log.EndOffset.Offset)
        {
            Fail($"node {node.Id} has high watermark {replica.HighWatermark} past its log end {node.Log.EndOffset.Offset}");
        }

        if (replica.Role == RaftRole.Leader)
        {
            if (_leaderOfEpoch.TryGetValue(replica.Epoch, out var other) && other != node.Id)
            {
                Fail($"two leaders in epoch {replica.Epoch}: {other} and {node.Id}");
            }

            _leaderOfEpoch[replica.Epoch] = node.Id;
            if (node.LastRole != RaftRole.Leader)
            {
                Record($"node {node.Id} leads epoch {replica.Epoch} (log {node.Log.EndOffset})");
                CheckHoldsCommitted(node);
            }
        }

        node.LastRole = replica.Role;
    }

    /// <summary>
    /// Every node delivers the same committed batches in the same order: the n-th batch a node delivers since its start
    /// is the n-th committed batch, or extends the committed sequence contiguously.
    /// </summary>
    private void CheckCommitted(SimNode node, CommittedBatch batch)
    {
        var index = node.Delivered;
        if (index < _committed.Count)
        {
            if (_committed[index] != batch)
            {
                Fail($"node {node.Id} delivered {batch} as committed batch #{index}, but {_committed[index]} was committed there");
            }
        }
        else
        {
            var expectedBase = index == 0 ? 0 : _committed[index - 1].LastOffset + 1;
            if (batch.BaseOffset != expectedBase || index != _committed.Count)
            {
                Fail($"node {node.Id} delivered {batch} as committed batch #{index}; expected base offset {expectedBase}");
            }

            _committed.Add(batch);
        }

        node.Delivered = index + 1;
    }

    /// <summary>Leader completeness: a new leader's log starts with every committed batch, unchanged.</summary>
    private void CheckHoldsCommitted(SimNode node)
    {
        if (_committed.Count == 0)
        {
            return;
        }

        var held = RaftTestData.ReadAll(node.Log);
        for (var i = 0; i < _committed.Count; i++)
        {
            var expected = _committed[i];
            if (i >= held.Count || held[i] != (expected.BaseOffset, expected.LastOffset, expected.Epoch))
            {
                Fail($"leader {node.Id} of epoch {node.Replica!.Epoch} lacks committed batch #{i} {expected}");
            }
        }
    }

    private void Fail(string message) => throw new SimulationFailure(message + "\n" + Describe());
}
