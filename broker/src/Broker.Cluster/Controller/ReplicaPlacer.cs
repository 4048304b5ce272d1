using Broker.Cluster.Metadata;

namespace Broker.Cluster.Controller;

/// <summary>
/// Rack-aware replica placement with the semantics of Kafka's StripedReplicaPlacer: only usable brokers (unfenced, not
/// in controlled shutdown) are chosen; the replicas of a partition go to as many different racks as possible (a
/// partition takes a second broker from a rack only once every rack has given one); leaders rotate over the racks and,
/// within a rack, over its brokers, so leadership spreads evenly. Rack and broker orders are shuffled with the injected
/// <see cref="Random"/> (again after each full round of leaders, so follower sets vary), which makes placement
/// reproducible for a seed. Brokers without a rack form one rack, as in Kafka.
/// Stateless; thread-safe as long as the caller does not share <paramref name="random"/> across threads.
/// </summary>
public static class ReplicaPlacer
{
    /// <summary>
    /// Places <paramref name="partitions"/> partitions of <paramref name="replicationFactor"/> replicas. Returns null on
    /// success, else the INVALID_REPLICATION_FACTOR message (non-positive factor, or more replicas than usable brokers).
    /// </summary>
    public static string? TryPlace(
        IEnumerable<BrokerInfo> brokers, int partitions, int replicationFactor, Random random, out List<int[]> assignment)
    {
        ArgumentNullException.ThrowIfNull(brokers);
        ArgumentNullException.ThrowIfNull(random);
        assignment = [];
        if (replicationFactor <= 0)
        {
            return "Replication factor must be larger than 0, or -1 to use the default value.";
        }

        var byRack = new SortedDictionary<string, List<int>>(StringComparer.Ordinal);
        var usable = 0;
        foreach (var broker in brokers)
        {
            if (broker.Fenced || broker.InControlledShutdown)
            {
                continue;
            }

            // "" cannot be a configured rack name (Kafka refuses empty broker.rack), so it stands for "no rack".
            var rack = broker.Rack ?? string.Empty;
            if (!byRack.TryGetValue(rack, out var members))
            {
                byRack[rack] = members = [];
            }

            members.Add(broker.NodeId);
            usable++;
        }

        if (usable == 0)
        {
            return "All brokers are currently fenced.";
        }

        if (replicationFactor > usable)
        {
            return $"Unable to replicate the partition {replicationFactor} time(s): The target replication factor of {replicationFactor} cannot be reached because only {usable} broker(s) are registered.";
        }

        var racks = new List<Rack>(byRack.Count);
        foreach (var members in byRack.Values)
        {
            members.Sort();
            racks.Add(new Rack([.. members]));
        }

        Shuffle(racks, random);
        var rackOffset = 0;
        var placedThisRound = 0;
        var used = new HashSet<int>();
        for (var p = 0; p < partitions; p++)
        {
            if (placedThisRound == usable && usable > 1)
            {
                // Every broker has led once in this order; a new order keeps follower sets from repeating forever.
                Shuffle(racks, random);
                placedThisRound = 0;
            }

            used.Clear();
            var replicas = new int[replicationFactor];
            var leaderRack = racks[rackOffset % racks.Count];
            replicas[0] = leaderRack.NextLeader();
            used.Add(replicas[0]);
            var filled = 1;
            var rackIndex = rackOffset + 1;
            while (filled < replicationFactor)
            {
                // Striping: one replica per rack per pass; racks with no unused broker left are skipped.
                if (racks[rackIndex % racks.Count].NextFollower(used) is { } follower)
                {
                    replicas[filled++] = follower;
                    used.Add(follower);
                }

                rackIndex++;
            }

            assignment.Add(replicas);
            rackOffset = (rackOffset + 1) % racks.Count;
            placedThisRound++;
        }

        return null;
    }

    private static void Shuffle(List<Rack> racks, Random random)
    {
        racks.Sort(static (a, b) => a.Brokers[0].CompareTo(b.Brokers[0]));
        for (var i = racks.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (racks[i], racks[j]) = (racks[j], racks[i]);
        }

        foreach (var rack in racks)
        {
            Array.Sort(rack.Brokers);
            random.Shuffle(rack.Brokers);
            rack.LeaderOffset = 0;
            rack.FollowerOffset = 0;
        }
    }

    /// <summary>The brokers of one rack and where its leader and follower rotations stand. Owned by one placement call.</summary>
    private sealed class Rack(int[] brokers)
    {
        public int[] Brokers { get; } = brokers;

        public int LeaderOffset { get; set; }

        public int FollowerOffset { get; set; }

        public int NextLeader()
        {
            var leader = Brokers[LeaderOffset % Brokers.Length];
            LeaderOffset++;
            FollowerOffset = LeaderOffset;
            return leader;
        }

        public int? NextFollower(HashSet<int> used)
        {
            for (var i = 0; i < Brokers.Length; i++)
            {
                var candidate = Brokers[(FollowerOffset + i) % Brokers.Length];
                if (!used.Contains(candidate))
                {
                    FollowerOffset += i + 1;
                    return candidate;
                }
            }

            return null;
        }
    }
}
