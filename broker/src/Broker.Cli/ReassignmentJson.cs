using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Broker.Cli;

/// <summary>One partition's target replicas, as in Kafka's reassignment JSON.</summary>
internal sealed record PartitionTarget(string Topic, int Partition, IReadOnlyList<int> Replicas)
{
    public string Name => $"{Topic}-{Partition.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>
/// Kafka's reassignment JSON files, read with JsonDocument (the CLI is AOT-compiled): the plan
/// <c>{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3],"log_dirs":[...]}]}</c> and the
/// <c>--generate</c> input <c>{"version":1,"topics":[{"topic":"t"}]}</c>. Stateless; thread-safe.
/// </summary>
internal static class ReassignmentJson
{
    /// <exception cref="FormatException">Not a valid plan; the message says where.</exception>
    public static List<PartitionTarget> ParsePlan(string json)
    {
        using var document = Parse(json);
        if (!document.RootElement.TryGetProperty("partitions", out var partitions) || partitions.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("the reassignment JSON has no \"partitions\" array.");
        }

        var result = new List<PartitionTarget>();
        foreach (var entry in partitions.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object
                || !entry.TryGetProperty("topic", out var topic) || topic.ValueKind != JsonValueKind.String
                || !entry.TryGetProperty("partition", out var partition) || !TryGetInt(partition, out var index)
                || !entry.TryGetProperty("replicas", out var replicas) || replicas.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException($"each partition needs \"topic\", \"partition\" and \"replicas\": {entry.GetRawText()}");
            }

            var ids = new List<int>();
            foreach (var replica in replicas.EnumerateArray())
            {
                ids.Add(TryGetInt(replica, out var id) ? id : throw new FormatException($"replica {replica.GetRawText()} is not a broker id."));
            }

            var target = new PartitionTarget(topic.GetString()!, index, ids);
            if (ids.Count == 0 || ids.Distinct().Count() != ids.Count)
            {
                throw new FormatException($"the replicas of {target.Name} must be a non-empty list without duplicates: [{string.Join(",", ids)}]");
            }

            if (result.Any(r => r.Topic == target.Topic && r.Partition == target.Partition))
            {
                throw new FormatException($"the reassignment JSON lists {target.Name} twice.");
            }

            result.Add(target);
        }

        return result.Count > 0 ? result : throw new FormatException("the reassignment JSON lists no partitions.");
    }

    /// <exception cref="FormatException">Not a valid topics-to-move file.</exception>
    public static List<string> ParseTopics(string json)
    {
        using var document = Parse(json);
        if (!document.RootElement.TryGetProperty("topics", out var topics) || topics.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException("the topics-to-move JSON has no \"topics\" array.");
        }

        var result = new List<string>();
        foreach (var entry in topics.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("topic", out var topic) || topic.ValueKind != JsonValueKind.String)
            {
                throw new FormatException($"each entry of \"topics\" needs a \"topic\": {entry.GetRawText()}");
            }

            if (!result.Contains(topic.GetString()!))
            {
                result.Add(topic.GetString()!);
            }
        }

        return result.Count > 0 ? result : throw new FormatException("the topics-to-move JSON lists no topics.");
    }

    /// <summary>The plan as Kafka's tool writes it: one line, partitions in topic then partition order, log_dirs all "any".</summary>
    public static string Format(IEnumerable<PartitionTarget> targets)
    {
        var text = new StringBuilder("{\"version\":1,\"partitions\":[");
        var first = true;
        foreach (var target in targets.OrderBy(t => t.Topic, StringComparer.Ordinal).ThenBy(t => t.Partition))
        {
            text.Append(first ? "" : ",");
            first = false;
            text.Append("{\"topic\":\"").Append(JsonEncodedText.Encode(target.Topic).ToString()).Append('"')
                .Append(CultureInfo.InvariantCulture, $",\"partition\":{target.Partition},\"replicas\":[{string.Join(",", target.Replicas)}]")
                .Append(",\"log_dirs\":[").Append(string.Join(",", target.Replicas.Select(_ => "\"any\""))).Append("]}");
        }

        return text.Append("]}").ToString();
    }

    /// <summary>TryGetInt32 throws on a non-number; a plan file may hold anything.</summary>
    private static bool TryGetInt(JsonElement element, out int value)
    {
        value = 0;
        return element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out value);
    }

    private static JsonDocument Parse(string json)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"not valid JSON: {e.Message}", e);
        }
    }
}
