using Broker.Cluster.Raft;

namespace Broker.Cluster.Tests.Raft.Simulation;

/// <summary>Fault schedules and the liveness check shared by the simulation tests. Stateless.</summary>
internal static class SimulationScenarios
{
    /// <summary>A client appending one record every 50-150 ms through whoever leads, until <paramref name="endMs"/>.</summary>
    public static void ScheduleClient(RaftSimulation sim, long startMs, long endMs)
    {
        void Tick()
        {
            sim.ClientAppend();
            if (sim.Now + 150 < endMs)
            {
                sim.At(sim.Now + sim.Random.Next(50, 151), "", Tick);
            }
        }

        sim.At(startMs, "", Tick);
    }

    /// <summary>Metadata retention by seed: unlimited, only the latest snapshot, a few kilobytes, or a few seconds.</summary>
    public static SnapshotRetention Retention(int seed) => (seed / 2 % 4) switch
    {
        0 => SnapshotRetention.Unlimited,
        1 => new SnapshotRetention(0, -1),
        2 => new SnapshotRetention(4_000 + seed * 50, -1),
        _ => new SnapshotRetention(-1, 3_000 + seed * 20),
    };

    /// <summary>
    /// Lets the healed quorum run quietly for more than two retention check intervals (the client and snapshots have
    /// stopped), then checks that every live node is within the retention limits.
    /// </summary>
    public static void AssertRetentionAfterQuiet(RaftSimulation sim)
    {
        sim.RunUntil(sim.Now + 2 * sim.Config.RetentionCheckIntervalMs + 100);
        foreach (var node in sim.Nodes.Where(n => n.Alive))
        {
            if (sim.RetentionViolation(node) is { } violation)
            {
                throw new SimulationFailure($"seed {sim.Seed}: {violation}");
            }
        }
    }

    /// <summary>A random live node snapshots its state every 0.3-1.5 s until <paramref name="endMs"/>.</summary>
    public static void ScheduleSnapshots(RaftSimulation sim, long startMs, long endMs)
    {
        for (var t = startMs + sim.Random.Next(300, 1500); t < endMs; t += sim.Random.Next(300, 1500))
        {
            sim.At(t, "", () =>
            {
                var alive = sim.Nodes.Where(n => n.Alive).ToList();
                if (alive.Count > 0)
                {
                    sim.TakeSnapshot(alive[sim.Random.Next(alive.Count)]);
                }
            });
        }
    }

    /// <summary>
    /// The chaos phase of a scenario: 20-40 s of client writes, faults and snapshots (and, with
    /// <paramref name="voterChanges"/>, admin voter changes), run to its end. Draws from the simulation's random source
    /// in a fixed order, so a seed replays exactly.
    /// </summary>
    public static void RunChaos(RaftSimulation sim, bool voterChanges)
    {
        var chaosEnd = 20_000 + sim.Random.Next(20_000);
        ScheduleClient(sim, 0, chaosEnd);
        ScheduleFaults(sim, 0, chaosEnd);
        ScheduleSnapshots(sim, 0, chaosEnd);
        if (voterChanges)
        {
            ScheduleVoterChanges(sim, 0, chaosEnd);
        }

        sim.RunUntil(chaosEnd);
    }

    /// <summary>
    /// Every 0.3-1.5 s until <paramref name="endMs"/>, an admin asks whoever leads (by its own account) to add a node that
    /// is not a voter, remove a voter (never the last) or give a voter a new endpoint, at random; the leader decides which
    /// requests succeed.
    /// </summary>
    public static void ScheduleVoterChanges(RaftSimulation sim, long startMs, long endMs)
    {
        for (var t = startMs + sim.Random.Next(300, 1500); t < endMs; t += sim.Random.Next(300, 1500))
        {
            sim.At(t, "", () =>
            {
                if (sim.Leaders() is not [var leader, ..])
                {
                    return;
                }

                var voters = leader.Replica!.Voters;
                var others = sim.Nodes.Where(n => !voters.Contains(n.Id)).ToList();
                if (sim.Random.Next(4) == 0)
                {
                    // A voter announcing a new endpoint (UpdateRaftVoter).
                    var updated = voters.Voters[sim.Random.Next(voters.Count)];
                    sim.AdminRequest(leader, new Broker.Protocol.Messages.UpdateRaftVoterRequest
                    {
                        ClusterId = "sim-cluster",
                        CurrentLeaderEpoch = leader.Replica.Epoch,
                        VoterId = updated.Id,
                        VoterDirectoryId = updated.DirectoryId,
                        Listeners = [new() { Name = "CONTROLLER", Host = "sim", Port = (ushort)sim.Random.Next(9000, 9999) }],
                        KRaftVersionFeature = new() { MinSupportedVersion = 0, MaxSupportedVersion = 1 },
                    });
                }
                else if (others.Count > 0 && (voters.Count <= 1 || sim.Random.Next(2) == 0))
                {
                    var added = others[sim.Random.Next(others.Count)];
                    sim.AdminRequest(leader, new Broker.Protocol.Messages.AddRaftVoterRequest
                    {
                        ClusterId = "sim-cluster",
                        TimeoutMs = 2000,
                        VoterId = added.Id,
                        VoterDirectoryId = TestQuorums.Dir(added.Id),
                        Listeners = [new() { Name = "CONTROLLER", Host = "sim", Port = 9093 }],
                    });
                }
                else if (voters.Count > 1)
                {
                    var removed = voters.Voters[sim.Random.Next(voters.Count)];
                    sim.AdminRequest(leader, new Broker.Protocol.Messages.RemoveRaftVoterRequest
                    {
                        ClusterId = "sim-cluster", VoterId = removed.Id, VoterDirectoryId = removed.DirectoryId,
                    });
                }
            });
        }
    }

    /// <summary>Random faults every 0.5-2.5 s until <paramref name="endMs"/>.</summary>
    public static void ScheduleFaults(RaftSimulation sim, long startMs, long endMs)
    {
        for (var t = startMs + sim.Random.Next(500, 2500); t < endMs; t += sim.Random.Next(500, 2500))
        {
            sim.At(t, "", () => RandomFault(sim));
        }
    }

    public static void RandomFault(RaftSimulation sim)
    {
        var voters = sim.Config.VoterIds;
        switch (sim.Random.Next(10))
        {
            case 0:
                sim.DropRate = sim.Random.NextDouble() * 0.2;
                sim.At(sim.Now, $"drop rate {sim.DropRate:F2}", () => { });
                break;
            case 1:
                sim.MaxDelayMs = sim.Random.Next(5, 200);
                sim.At(sim.Now, $"delays up to {sim.MaxDelayMs} ms", () => { });
                break;
            case 2:
                sim.Groups.Clear();
                foreach (var node in sim.Nodes)
                {
                    sim.Groups[node.Id] = sim.Random.Next(2);
                }

                sim.At(sim.Now, "random partition " + string.Join(",", sim.Groups.Select(g => $"{g.Key}:{g.Value}")), () => { });
                break;
            case 3:
                if (sim.Leaders() is [var leader, ..])
                {
                    sim.Groups.Clear();
                    sim.Groups[leader.Id] = 1;
                    sim.At(sim.Now, $"leader {leader.Id} isolated", () => { });
                }

                break;
            case 4:
                sim.Groups.Clear();
                var minority = voters.OrderBy(_ => sim.Random.Next()).Take((voters.Count - 1) / 2).ToList();
                foreach (var id in minority)
                {
                    sim.Groups[id] = 1;
                }

                sim.At(sim.Now, "minority " + string.Join(",", minority) + " cut off", () => { });
                break;
            case 5:
                sim.Groups.Clear();
                sim.At(sim.Now, "partition healed", () => { });
                break;
            case 6 or 7 when sim.CanCrash:
                var alive = sim.Nodes.Where(n => n.Alive).ToList();
                var victim = sim.Random.Next(3) == 0 && sim.Leaders() is [var current, ..] ? current : alive[sim.Random.Next(alive.Count)];
                sim.Crash(victim);
                sim.At(sim.Now + sim.Random.Next(200, 3000), "", () => sim.Restart(victim));
                break;
            case 8:
                if (sim.Leaders() is [var resigning, ..] && resigning.Replica!.Resign(sim.Now))
                {
                    sim.At(sim.Now, $"leader {resigning.Id} resigns", () => { });
                    sim.Poke(resigning);
                }

                break;
            default:
                sim.DropRate = 0;
                sim.MaxDelayMs = 30;
                sim.At(sim.Now, "network calm", () => { });
                break;
        }
    }

    /// <summary>
    /// Liveness after healing: every node is up and connected, a leader is elected, and a record appended through it is
    /// committed and delivered by every node. Returns the simulated milliseconds that took, or throws with the trace.
    /// </summary>
    public static long HealAndAwaitCommit(RaftSimulation sim, long boundMs)
    {
        var healedAt = sim.Now;
        sim.Heal();
        sim.MaxDelayMs = 30;
        foreach (var node in sim.Nodes.Where(n => !n.Alive).ToList())
        {
            sim.Restart(node);
        }

        long marker = -1;
        var markerEpoch = -1;
        SimNode? markerLeader = null;
        var done = sim.RunUntil(healedAt + boundMs, () =>
        {
            if (marker >= 0 && (markerLeader!.Replica is null || markerLeader.Replica.Epoch != markerEpoch))
            {
                // The record's leader lost its epoch before committing it; try again through the next leader.
                if (!sim.Committed.Any(b => b.BaseOffset <= marker && marker <= b.LastOffset && b.Epoch == markerEpoch))
                {
                    marker = -1;
                }
            }

            if (marker < 0)
            {
                if (sim.Leaders() is [var leader] && leader.Replica!.HighWatermark > 0)
                {
                    marker = sim.ClientAppend();
                    markerLeader = leader;
                    markerEpoch = leader.Replica.Epoch;
                }

                return false;
            }

            return sim.Nodes.All(n => n.Alive && n.Replica!.NextDeliveryOffset > marker)
                && sim.Committed.Any(b => b.BaseOffset <= marker && marker <= b.LastOffset && b.Epoch == markerEpoch);
        });

        if (!done)
        {
            throw new SimulationFailure($"no commit within {boundMs} ms of healing\n" + sim.Describe());
        }

        return sim.Now - healedAt;
    }
}
