using Broker.Cluster.Raft;
using Broker.Protocol;
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

    [Fact]
    public void AutoJoin_ObserverController_AddsItselfAfterTheUpdatePeriodAndVotes()
    {
        // Voters 1 and 2; node 3 is a controller formatted without voters, following as an observer.
        var config = TestQuorums.Dynamic(1, 2);
        var (net, adds) = AutoJoinNetwork(config, autoJoin: true);
        var leader = net.ElectLeader();
        net.Advance(3 * config.FetchTimeoutMs - 500);
        Assert.Empty(adds);
        Assert.Equal([1, 2], leader.Replica.Voters.Ids);

        net.Advance(3_000);

        var add = Assert.Single(adds.OfType<AddRaftVoterRequest>());
        Assert.Equal((3, TestQuorums.Dir(3)), (add.VoterId, add.VoterDirectoryId));
        Assert.Equal(("CONTROLLER", "localhost", (ushort)9096), (add.Listeners[0].Name, add.Listeners[0].Host, add.Listeners[0].Port));
        Assert.All(net.Nodes, n => Assert.Equal([1, 2, 3], n.Replica.Voters.Ids));
        Assert.True(net[3].Replica.IsVoter);

        // A voter now: nothing more is sent, and with the leader cut off node 3 can help elect the next one.
        net.Advance(4 * 3 * config.FetchTimeoutMs);
        Assert.Single(adds);
        net.Deliverable = m => m.Source != leader.Id && m.Destination != leader.Id;
        net.Advance(10_000);
        Assert.Contains(net.Nodes, n => n != leader && n.Replica.Role == RaftRole.Leader);
    }

    [Fact]
    public void AutoJoin_Disabled_ObserverStaysAnObserver()
    {
        var config = TestQuorums.Dynamic(1, 2);
        var (net, adds) = AutoJoinNetwork(config, autoJoin: false);
        var leader = net.ElectLeader();

        net.Advance(5 * 3 * config.FetchTimeoutMs);

        Assert.Empty(adds);
        Assert.Equal([1, 2], leader.Replica.Voters.Ids);
        Assert.False(net[3].Replica.IsVoter);
    }

    [Fact]
    public void AutoJoin_VoterSetHoldsTheIdWithAnotherDirectory_RemovesThatEntryThenAddsItself()
    {
        // Voters 1, 2 and 3, but node 3 restarts on a new metadata log dir (another directory id).
        var config = TestQuorums.Dynamic(1, 2, 3);
        var (net, requests) = AutoJoinNetwork(config, autoJoin: true, directory3: Guid.NewGuid());
        var leader = net.ElectLeader(maxMs: 60_000);
        Assert.NotEqual(3, leader.Id);

        net.Advance(4 * 3 * config.FetchTimeoutMs);

        var remove = Assert.Single(requests.OfType<RemoveRaftVoterRequest>());
        Assert.Equal((3, TestQuorums.Dir(3)), (remove.VoterId, remove.VoterDirectoryId));
        Assert.Contains(requests, r => r is AddRaftVoterRequest { VoterId: 3 } add && add.VoterDirectoryId == net[3].Replica.DirectoryId);
        Assert.All(net.Nodes, n => Assert.Equal(net[3].Replica.DirectoryId, n.Replica.Voters.TryGet(3)!.DirectoryId));
        Assert.True(net[3].Replica.IsVoter);
    }

    /// <summary>Nodes 1-3 over <paramref name="config"/> with their own listeners; node 3 with auto-join as asked (and the
    /// directory id given). AddRaftVoter and RemoveRaftVoter requests are collected as they pass.</summary>
    private static (InstantNetwork Net, List<IApiMessage> Requests) AutoJoinNetwork(QuorumConfig config, bool autoJoin, Guid? directory3 = null)
    {
        var net = new InstantNetwork(config, [1, 2, 3]);
        foreach (var id in new[] { 1, 2, 3 })
        {
            var local = config with
            {
                LocalListeners = [new VoterListener("CONTROLLER", "localhost", 9093 + id)],
                AutoJoin = id == 3 && autoJoin,
            };
            net[id] = new RaftTestNode(id, local, 100 + id, directoryId: id == 3 && directory3 is { } other ? other : TestQuorums.Dir(id));
        }

        var requests = new List<IApiMessage>();
        net.Deliverable = m =>
        {
            if (m.Body is AddRaftVoterRequest or RemoveRaftVoterRequest)
            {
                requests.Add(m.Body);
            }

            return true;
        };
        net.StartAll();
        return (net, requests);
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
