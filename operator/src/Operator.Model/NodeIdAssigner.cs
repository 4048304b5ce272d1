using System.Collections.Immutable;
using System.Globalization;

namespace Operator.Model;

/// <summary>
/// Gives each pool a contiguous range of node ids. Pools that already hold ids keep their first id and grow
/// or shrink at the top (scale-down removes the highest id, as in Strimzi); new pools, in name order, get the
/// lowest free range, so a fresh cluster numbers like Strimzi (broker 0-2, controller 3-5). A new pool with Strimzi's
/// <c>strimzi.io/next-node-ids</c> annotation starts at the first id it lists whose range is free (so it can leave
/// room to grow), falling back to the lowest free range as Strimzi falls back when the listed ids run out.
/// Stateless; thread-safe.
/// </summary>
internal static class NodeIdAssigner
{
    public const string NextNodeIdsAnnotation = "strimzi.io/next-node-ids";

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
        IReadOnlyList<(string Pool, int Replicas, string ReplicasField, string Resource, IReadOnlyList<int>? NextIds)> pools,
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
                        $"scaling pool {pool.Pool} to {pool.Replicas} needs node id {id}, which pool {owner} holds (a pool's ids are contiguous; "
                        + $"a pool created with {NextNodeIdsAnnotation} listing ids above the others' has room to grow)")));
                    break;
                }

                taken[id] = pool.Pool;
            }

            // Ids given up by a scale-down become free for others only after this reconcile.
            result[pool.Pool] = [.. Enumerable.Range(start, pool.Replicas)];
        }

        foreach (var pool in ordered.Where(p => !starts.ContainsKey(p.Pool)))
        {
            var start = pool.NextIds?.Cast<int?>().FirstOrDefault(c => (long)c!.Value + pool.Replicas <= int.MaxValue
                && !Enumerable.Range(c!.Value, pool.Replicas).Any(taken.ContainsKey)) ?? 0;
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
