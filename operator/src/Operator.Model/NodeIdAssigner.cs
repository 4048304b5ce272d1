using System.Collections.Immutable;
using System.Globalization;

namespace Operator.Model;

/// <summary>
/// Gives each pool a contiguous range of node ids. Pools that already hold ids keep their first id and grow
/// or shrink at the top (scale-down removes the highest id, as in Strimzi); new pools, in name order, get the
/// lowest free range, so a fresh cluster numbers like Strimzi (broker 0-2, controller 3-5). Stateless; thread-safe.
/// </summary>
internal static class NodeIdAssigner
{
    public static ImmutableDictionary<string, ImmutableArray<int>> Assign(
        IReadOnlyList<(string Pool, int Replicas, string ReplicasField, string Resource)> pools,
        ImmutableDictionary<string, ImmutableArray<int>> existing,
        List<ValidationError> errors)
    {
        var result = ImmutableDictionary.CreateBuilder<string, ImmutableArray<int>>(StringComparer.Ordinal);
        var taken = new Dictionary<int, string>();
        var ordered = pools.OrderBy(p => p.Pool, StringComparer.Ordinal).ToList();

        // First reserve what existing pools hold now, so growth is checked against every neighbour.
        var starts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var pool in ordered)
        {
            if (!existing.TryGetValue(pool.Pool, out var ids) || ids.IsDefaultOrEmpty)
            {
                continue;
            }

            var sorted = ids.Sort();
            if (sorted[^1] - sorted[0] + 1 != sorted.Length)
            {
                errors.Add(new(pool.Resource, "status.nodeIds",
                    $"node ids [{string.Join(", ", sorted)}] are not contiguous; pods of a pool come from one StatefulSet, whose ordinals are a range"));
                continue;
            }

            starts[pool.Pool] = sorted[0];
            foreach (var id in sorted)
            {
                taken[id] = pool.Pool;
            }
        }

        foreach (var pool in ordered)
        {
            if (!starts.TryGetValue(pool.Pool, out var start))
            {
                continue;
            }

            for (var id = start; id < start + pool.Replicas; id++)
            {
                if (taken.TryGetValue(id, out var owner) && owner != pool.Pool)
                {
                    errors.Add(new(pool.Resource, pool.ReplicasField, string.Create(CultureInfo.InvariantCulture,
                        $"scaling pool {pool.Pool} to {pool.Replicas} needs node id {id}, which pool {owner} holds (a pool's ids are contiguous)")));
                    break;
                }

                taken[id] = pool.Pool;
            }

            // Ids given up by a scale-down become free for others only after this reconcile.
            result[pool.Pool] = [.. Enumerable.Range(start, pool.Replicas)];
        }

        foreach (var pool in ordered.Where(p => !starts.ContainsKey(p.Pool)))
        {
            var start = 0;
            while (Enumerable.Range(start, pool.Replicas).Any(taken.ContainsKey))
            {
                start++;
            }

            foreach (var id in Enumerable.Range(start, pool.Replicas))
            {
                taken[id] = pool.Pool;
            }

            result[pool.Pool] = [.. Enumerable.Range(start, pool.Replicas)];
        }

        return result.ToImmutable();
    }
}
