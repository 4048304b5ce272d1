using System.Collections.Immutable;
using Broker.Cluster.Metadata;
using Broker.Protocol.Metadata;

namespace Broker.Cluster.Controller;

/// <summary>How a leader is chosen (Kafka's PartitionChangeBuilder.Election).</summary>
public enum ElectionKind
{
    /// <summary>Keep a valid leader, else the first valid replica in replica order; unclean only if the topic allows it.</summary>
    Recommended,

    /// <summary>The preferred (first) replica when it is valid, else as <see cref="Recommended"/>.</summary>
    Preferred,

    /// <summary>As <see cref="Recommended"/>, but a live out-of-sync replica may lead whatever the topic config says.</summary>
    Unclean,
}

/// <summary>
/// Computes the PartitionChangeRecord for one partition from a target ISR, target replicas and an election rule, with
/// Kafka's PartitionChangeBuilder semantics: a reassignment completes once every adding replica is in the ISR (removing
/// replicas leave replicas and ISR); a leader is elected when the current one left the ISR, is not acceptable (fenced,
/// in controlled shutdown, unregistered) or is not preferred in a preferred election; the ISR never becomes empty (the
/// last member stays, with leader -1, when it cannot lead); an unclean election makes the ISR the new leader alone and
/// marks the leader as recovering; replicas leaving the replica set bump the leader epoch (the Leader field is written
/// even when unchanged). Returns null when nothing changes. Owned by one controller operation.
/// </summary>
public sealed class PartitionChangeBuilder
{
    private readonly Guid _topicId;
    private readonly PartitionInfo _current;
    private readonly Func<int, bool> _isAcceptableLeader;
    private readonly bool _uncleanAllowed;
    private ImmutableArray<int> _targetIsr;
    private ImmutableArray<int> _targetReplicas;
    private ImmutableArray<int> _targetAdding;
    private ImmutableArray<int> _targetRemoving;
    private ElectionKind _election = ElectionKind.Recommended;

    /// <param name="isAcceptableLeader">Whether a broker may lead now: registered, unfenced, not shutting down.</param>
    /// <param name="uncleanAllowed">The topic's effective <c>unclean.leader.election.enable</c>.</param>
    public PartitionChangeBuilder(Guid topicId, PartitionInfo current, Func<int, bool> isAcceptableLeader, bool uncleanAllowed)
    {
        ArgumentNullException.ThrowIfNull(current);
        _topicId = topicId;
        _current = current;
        _isAcceptableLeader = isAcceptableLeader;
        _uncleanAllowed = uncleanAllowed;
        _targetIsr = current.Isr;
        _targetReplicas = current.Replicas;
        _targetAdding = current.AddingReplicas;
        _targetRemoving = current.RemovingReplicas;
    }

    /// <summary>The leader chosen by the last <see cref="Build"/>; -1 when the partition is offline.</summary>
    public int ElectedLeader { get; private set; } = -1;

    /// <summary>Whether the last <see cref="Build"/> elected a replica outside the ISR.</summary>
    public bool ElectedUnclean { get; private set; }

    public PartitionChangeBuilder WithTargetIsr(IEnumerable<int> isr)
    {
        _targetIsr = [.. isr];
        return this;
    }

    public PartitionChangeBuilder WithTargetReplicas(ImmutableArray<int> replicas, ImmutableArray<int> adding, ImmutableArray<int> removing)
    {
        _targetReplicas = replicas;
        _targetAdding = adding;
        _targetRemoving = removing;
        return this;
    }

    public PartitionChangeBuilder WithElection(ElectionKind election)
    {
        _election = election;
        return this;
    }

    public PartitionChangeRecord? Build()
    {
        var isr = _targetIsr;
        var replicas = _targetReplicas;
        var adding = _targetAdding;
        var removing = _targetRemoving;
        CompleteReassignmentIfReady(ref isr, ref replicas, ref adding, ref removing);

        // Kafka 3.x without ELR: the ISR never empties; its last member stays as the only candidate for a clean election.
        if (isr.IsEmpty)
        {
            isr = _current.Isr.IsEmpty ? isr : [_current.Isr[^1]];
        }

        var leader = _current.Leader;
        sbyte recovery = -1;
        ElectedUnclean = false;
        if (NeedsElection(leader, isr, replicas))
        {
            leader = Elect(isr, replicas, out var unclean);
            if (unclean)
            {
                ElectedUnclean = true;
                isr = [leader];
                recovery = 1;
            }
        }

        ElectedLeader = leader;
        var record = new PartitionChangeRecord { TopicId = _topicId, PartitionId = _current.Partition };
        var changed = false;
        if (leader != _current.Leader)
        {
            record.Leader = leader;
            changed = true;
        }
        else if (!_current.Replicas.All(replicas.Contains))
        {
            // Kafka bumps the leader epoch when replicas leave, so the removed ones are fenced from the partition.
            record.Leader = leader;
        }

        if (!isr.SequenceEqual(_current.Isr))
        {
            record.Isr = [.. isr];
            changed = true;
        }

        if (!replicas.SequenceEqual(_current.Replicas))
        {
            record.Replicas = [.. replicas];
            changed = true;
        }

        if (!adding.SequenceEqual(_current.AddingReplicas))
        {
            record.AddingReplicas = [.. adding];
            changed = true;
        }

        if (!removing.SequenceEqual(_current.RemovingReplicas))
        {
            record.RemovingReplicas = [.. removing];
            changed = true;
        }

        if (recovery != -1 && recovery != _current.LeaderRecoveryState)
        {
            record.LeaderRecoveryState = recovery;
            changed = true;
        }

        return changed ? record : null;
    }

    private static void CompleteReassignmentIfReady(
        ref ImmutableArray<int> isr, ref ImmutableArray<int> replicas, ref ImmutableArray<int> adding, ref ImmutableArray<int> removing)
    {
        if (adding.IsEmpty && removing.IsEmpty)
        {
            return;
        }

        var remaining = removing;
        var newIsr = isr.RemoveAll(r => remaining.Contains(r));
        if (newIsr.IsEmpty)
        {
            return;
        }

        foreach (var replica in adding)
        {
            if (!newIsr.Contains(replica))
            {
                return;
            }
        }

        isr = newIsr;
        replicas = replicas.RemoveAll(r => remaining.Contains(r));
        adding = [];
        removing = [];
    }

    private bool NeedsElection(int leader, ImmutableArray<int> isr, ImmutableArray<int> replicas)
    {
        if (!isr.Contains(leader) || !replicas.Contains(leader) || !_isAcceptableLeader(leader))
        {
            return true;
        }

        return _election == ElectionKind.Preferred && leader != replicas[0];
    }

    private int Elect(ImmutableArray<int> isr, ImmutableArray<int> replicas, out bool unclean)
    {
        unclean = false;
        if (_election == ElectionKind.Preferred && IsValid(replicas[0], isr))
        {
            return replicas[0];
        }

        if (replicas.Contains(_current.Leader) && IsValid(_current.Leader, isr))
        {
            return _current.Leader;
        }

        foreach (var replica in replicas)
        {
            if (IsValid(replica, isr))
            {
                return replica;
            }
        }

        if (_uncleanAllowed || _election == ElectionKind.Unclean)
        {
            foreach (var replica in replicas)
            {
                if (_isAcceptableLeader(replica))
                {
                    unclean = true;
                    return replica;
                }
            }
        }

        return -1;
    }

    private bool IsValid(int replica, ImmutableArray<int> isr) => isr.Contains(replica) && _isAcceptableLeader(replica);
}
