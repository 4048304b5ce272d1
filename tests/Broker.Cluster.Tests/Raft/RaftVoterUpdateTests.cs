using Broker.Cluster.Raft;
using Broker.Protocol.Messages;

namespace Broker.Cluster.Tests.Raft;

/// <summary>
/// A voter keeping its record in the voter set current (Kafka's follower UpdateRaftVoter and the leader's start-of-epoch
/// voters record): nodes whose configured controller listeners differ from what the set records.
/// </summary>
public sealed class RaftVoterUpdateTests
{
    private static readonly QuorumConfig Three = TestQuorums.Dynamic(1, 2, 3);

    [Fact]
    public void Follower_ListenersDifferFromTheVoterSet_SendsUpdateRaftVoterAfterThreeFetchTimeoutsAndEveryReplicaLearnsThem()
    {
        var (net, updates) = Network(Three, moved: [1, 2, 3]);
        var leader = net.ElectLeader();
        var followers = net.Nodes.Where(n => n != leader).Select(n => n.Id).ToArray();

        // The leader updates its own record at the start of its epoch; the followers wait for their update period.
        Assert.Equal(Moved(leader.Id), leader.Replica.VoterEndpoint(leader.Id));
        net.Advance(3 * Three.FetchTimeoutMs - 500);
        Assert.Empty(updates);
        Assert.All(followers, id => Assert.Equal(Recorded(id), leader.Replica.VoterEndpoint(id)));

        // The second follower's update may reach the leader while the first is uncommitted (REQUEST_TIMED_OUT): it tries
        // again a period later.
        net.Advance(2_000 + 3 * Three.FetchTimeoutMs);

        Assert.Equal(followers.Order(), updates.Select(u => u.VoterId).Distinct().Order());
        Assert.All(net.Nodes, node => Assert.All(new[] { 1, 2, 3 }, id => Assert.Equal(Moved(id), node.Replica.VoterEndpoint(id))));
        Assert.All(net.Nodes, node => Assert.False(node.Replica.LocalVoterNeedsUpdate));

        // Once the record matches, nothing more is sent.
        var sent = updates.Count;
        net.Advance(4 * 3 * Three.FetchTimeoutMs);
        Assert.Equal(sent, updates.Count);
        Assert.Equal([1, 2, 3], leader.Replica.Voters.Ids);
    }

    [Fact]
    public void Follower_ListenersAsRecorded_NeverSendsUpdateRaftVoter()
    {
        var (net, updates) = Network(Three, moved: []);
        net.ElectLeader();

        net.Advance(5 * 3 * Three.FetchTimeoutMs);

        Assert.Empty(updates);
        Assert.All(net.Nodes, node => Assert.False(node.Replica.LocalVoterNeedsUpdate));
    }

    [Fact]
    public void Follower_StaticQuorum_NeverSendsUpdateRaftVoter()
    {
        var (net, updates) = Network(TestQuorums.Of(1, 2, 3), moved: [1, 2, 3], dynamic: false);
        var leader = net.ElectLeader();

        net.Advance(5 * 3 * Three.FetchTimeoutMs);

        Assert.Empty(updates);
        Assert.Equal(Recorded(leader.Id) with { DirectoryId = Guid.Empty }, leader.Replica.VoterEndpoint(leader.Id));
    }

    [Fact]
    public void VoterSet_SupportedKRaftVersionRangeDiffers_NeedsUpdateAndTheRangeTravelsInTheRecord()
    {
        var recorded = new RaftVoter(1, TestQuorums.Dir(1), [new VoterListener("CONTROLLER", "localhost", 9094)]) { MaxKRaftVersion = 0 };
        var local = recorded with { MaxKRaftVersion = 1 };

        Assert.False(recorded.SameAs(local));
        Assert.True(recorded.SameAs(recorded with { Listeners = [new VoterListener("controller", "LOCALHOST", 9094)] }));
        var roundTrip = VoterSet.From(new VoterSet([recorded]).ToRecord()).Voters[0];
        Assert.Equal(0, roundTrip.MaxKRaftVersion);
        Assert.True(roundTrip.SameAs(recorded));
    }

    private static VoterEndpoint Recorded(int id) => new(id, "localhost", 9093 + id) { DirectoryId = TestQuorums.Dir(id) };

    private static VoterEndpoint Moved(int id) => new(id, "moved", 19000 + id) { DirectoryId = TestQuorums.Dir(id) };

    /// <summary>Nodes 1-3; those in <paramref name="moved"/> advertise <see cref="Moved"/>, the others what the set records.
    /// UpdateRaftVoter requests are collected as they pass.</summary>
    private static (InstantNetwork Net, List<UpdateRaftVoterRequest> Updates) Network(QuorumConfig config, int[] moved, bool dynamic = true)
    {
        var net = new InstantNetwork(config, [1, 2, 3]);
        foreach (var id in new[] { 1, 2, 3 })
        {
            var endpoint = moved.Contains(id) ? Moved(id) : Recorded(id);
            var local = config with { LocalListeners = [new VoterListener("CONTROLLER", endpoint.Host, endpoint.Port)] };
            net[id] = new RaftTestNode(id, local, 100 + id, directoryId: dynamic ? TestQuorums.Dir(id) : Guid.Empty);
        }

        var updates = new List<UpdateRaftVoterRequest>();
        net.Deliverable = m =>
        {
            if (m.Body is UpdateRaftVoterRequest update)
            {
                updates.Add(update);
            }

            return true;
        };
        net.StartAll();
        return (net, updates);
    }
}
