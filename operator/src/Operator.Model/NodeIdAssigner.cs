using System.Collections.Immutable;
using System.Globalization;

namespace Operator.Model;

/// <summary>
/// Gives each pool its node ids as Strimzi does: a pool keeps the ids it holds; scaling up adds the free ids listed in
/// the pool's <c>strimzi.io/next-node-ids</c> annotation, then the lowest ids free in the whole cluster (filling gaps);
/// scaling down removes the ids listed in <c>strimzi.io/remove-node-ids</c>, then the highest. Pools are handled in name
/// order, so a fresh cluster numbers like Strimzi's (broker 0-2, controller 3-5). A pool's ids need not be contiguous:
/// each node is its own pod in the pool's StrimziPodSet. Stateless; thread-safe.
/// </summary>
internal static class NodeIdAssigner
{
    public const string NextNodeIdsAnnotation = "strimzi.io/next-node-ids";
    public const string RemoveNodeIdsAnnotation = "strimzi.io/remove-node-ids";

    /// <summary>The most ids one annotation may expand to (a typo such as 0-2000000000 is refused, not allocated).</summary>
    private const int MaxListedIds = 100_000;

    /// <summary>
    /// Reads a node id list in Strimzi's annotation syntax, <c>[0, 1, 2, 10-20, 30]</c> (ranges may descend), in order;
    /// null with an error message when it is not one.
    /// </summary>
    public static List<int>? ParseIdList(string text, out string? error)
    {
        error = null;
        var trimmed = text.Trim();
        if (trimmed.Length < 2 || trimmed[0] != '[' || trimmed[^1] != ']')
        {
            error = $"'{text}' is not a list of node ids such as [0, 1, 2, 10-20, 30]";
            return null;
        }

        var ids = new List<int>();
        foreach (var part in trimmed[1..^1].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var bounds = part.Split('-', StringSplitOptions.TrimEntries);
            if (bounds.Length is < 1 or > 2 || !bounds.All(b => int.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            {
                error = $"'{part}' in '{text}' is neither a node id nor a range such as 10-20";
                return null;
            }

            var from = int.Parse(bounds[0], CultureInfo.InvariantCulture);
            var to = int.Parse(bounds[^1], CultureInfo.InvariantCulture);
            if (ids.Count + Math.Abs((long)to - from) + 1 > MaxListedIds)
            {
                error = $"'{text}' lists more than {MaxListedIds} node ids";
                return null;
            }

            for (var id = from; ; id += Math.Sign(to - from))
            {
                ids.Add(id);
                if (id == to)
                {
                    break;
                }
            }
        }

        return ids;
    }

    public static ImmutableDictionary<string, ImmutableArray<int>> Assign(
        IReadOnlyList<PoolIdRequest> pools, ImmutableDictionary<string, ImmutableArray<int>> existing, List<ValidationError> errors)
    {
        var result = ImmutableDictionary.CreateBuilder<string, ImmutableArray<int>>(StringComparer.Ordinal);
        var ordered = pools.OrderBy(p => p.Pool, StringComparer.Ordinal).ToList();

        // Every id a pool holds now is taken for this reconcile, also one a scale-down gives up: a node leaving one pool
        // and joining another in the same step would share a node id while the old pod still runs.
        var taken = new Dictionary<int, string>();
        var current = new Dictionary<string, SortedSet<int>>(StringComparer.Ordinal);
        foreach (var pool in ordered)
        {
            var ids = new SortedSet<int>();
            foreach (var id in existing.TryGetValue(pool.Pool, out var held) && !held.IsDefault ? held : [])
            {
                if (taken.TryGetValue(id, out var owner) && owner != pool.Pool)
                {
                    errors.Add(new(pool.Resource, "status.nodeIds", string.Create(CultureInfo.InvariantCulture,
                        $"node id {id} is also held by pool {owner}; a node id belongs to one pool")));
                    continue;
                }

                taken[id] = pool.Pool;
                ids.Add(id);
            }

            current[pool.Pool] = ids;
        }

        foreach (var pool in ordered)
        {
            var ids = current[pool.Pool];

            // Scale-down: the ids listed in strimzi.io/remove-node-ids first, then the highest.
            foreach (var id in (pool.RemoveIds ?? []).Where(ids.Contains).Concat(ids.Reverse()).Distinct().Take(Math.Max(0, ids.Count - pool.Replicas)).ToList())
            {
                ids.Remove(id);
            }

            // Scale-up: the free ids listed in strimzi.io/next-node-ids first, then the lowest free ids of the cluster.
            var listed = (pool.NextIds ?? []).Where(id => id >= 0).GetEnumerator();
            var lowest = 0;
            while (ids.Count < pool.Replicas)
            {
                int next;
                if (listed.MoveNext())
                {
                    next = listed.Current;
                    if (taken.ContainsKey(next))
                    {
                        continue;
                    }
                }
                else
                {
                    while (taken.ContainsKey(lowest))
                    {
                        lowest++;
                    }

                    next = lowest;
                }

                taken[next] = pool.Pool;
                ids.Add(next);
            }

            result[pool.Pool] = [.. ids];
        }

        return result.ToImmutable();
    }
}

/// <summary>What one pool asks of the node id assignment. Immutable; thread-safe.</summary>
/// <param name="Resource">The resource errors name (<c>KafkaNodePool/broker</c>).</param>
/// <param name="NextIds">Parsed <c>strimzi.io/next-node-ids</c>, or null.</param>
/// <param name="RemoveIds">Parsed <c>strimzi.io/remove-node-ids</c>, or null.</param>
internal sealed record PoolIdRequest(string Pool, int Replicas, string Resource, IReadOnlyList<int>? NextIds, IReadOnlyList<int>? RemoveIds);
