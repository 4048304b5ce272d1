using Broker.Cluster.Raft;
using Broker.Protocol.Messages;

namespace Broker.Cluster.Tests.Raft;

/// <summary>
/// Voter-change tests' shared steps: a dynamic quorum on an <see cref="InstantNetwork"/>, AddRaftVoter and RemoveRaftVoter
/// requests from an admin id that is no node (its answers land in <see cref="InstantNetwork.Outside"/>). Stateless.
/// </summary>
internal static class VoterChangeHarness
{
    public const int Admin = 999;

    /// <summary>Nodes <paramref name="ids"/> over <paramref name="config"/>, each with its directory id; those not in the
    /// configured voters are observers.</summary>
    public static InstantNetwork Quorum(QuorumConfig config, params int[] ids)
    {
        var net = new InstantNetwork(config, ids);
        foreach (var id in ids)
        {
            net[id] = new RaftTestNode(id, config, 100 + id, directoryId: TestQuorums.Dir(id));
        }

        net.StartAll();
        return net;
    }

    public static RaftTestNode ElectAndCommit(InstantNetwork net)
    {
        var leader = net.ElectLeader();
        net.Advance(1000);
        Assert.True(leader.Replica.HighWatermark > 0);
        return leader;
    }

    /// <summary>AddRaftVoter for test node <paramref name="id"/> with its controller listener (localhost:9093+id).</summary>
    public static AddRaftVoterRequest Add(int id, Guid directory, int timeoutMs = 5000) => new()
    {
        ClusterId = null,
        TimeoutMs = timeoutMs,
        VoterId = id,
        VoterDirectoryId = directory,
        Listeners = [new AddRaftVoterRequest.Listener { Name = "CONTROLLER", Host = "localhost", Port = (ushort)(9093 + id) }],
    };

    public static RemoveRaftVoterRequest Remove(int id, Guid directory) => new() { ClusterId = null, VoterId = id, VoterDirectoryId = directory };

    /// <summary>Sends a request from the admin id and pumps; returns the answer's error code, or null when none came yet.</summary>
    public static short? Send(InstantNetwork net, RaftTestNode target, IApiMessage request, long correlationId)
    {
        target.Replica.Handle(new RaftMessage(Admin, target.Id, correlationId, request), net.Time.NowMs);
        net.Pump();
        return Answer(net, correlationId);
    }

    public static short? Answer(InstantNetwork net, long correlationId) => AnswerOf(net, correlationId)?.Error;

    /// <summary>The admin's AddRaftVoter or RemoveRaftVoter answer with this correlation id, or null.</summary>
    public static (short Error, string? Message)? AnswerOf(InstantNetwork net, long correlationId)
    {
        foreach (var message in net.Outside)
        {
            if (message.CorrelationId == correlationId)
            {
                return message.Body switch
                {
                    AddRaftVoterResponse add => (add.ErrorCode, add.ErrorMessage),
                    RemoveRaftVoterResponse remove => (remove.ErrorCode, remove.ErrorMessage),
                    _ => null,
                };
            }
        }

        return null;
    }
}
