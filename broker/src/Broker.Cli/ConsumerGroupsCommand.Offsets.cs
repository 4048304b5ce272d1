using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Cli;

// consumer-groups --reset-offsets (the scenarios, dry run or commit) and --delete-offsets.
internal static partial class ConsumerGroupsCommand
{
    private static async Task<int> ResetAsync(AdminClient client, List<string> groups, GroupsOptions options, TextWriter output, TextWriter error,
        CancellationToken ct)
    {
        var plans = new List<(string Group, List<((string Topic, int Partition) Partition, long Offset)> Offsets)>();
        var code = 0;
        foreach (var group in groups)
        {
            var view = await ReadGroupAsync(client, group, ct).ConfigureAwait(false);
            var state = view.Description.GroupState;
            if (state is not ("Empty" or "Dead"))
            {
                await error.WriteLineAsync($"error: Assignments can only be reset if the group '{group}' is inactive, but the current state is {state}.")
                    .ConfigureAwait(false);
                code = 1;
                continue;
            }

            var topics = options.AllTopics ? view.Committed.Keys.Select(p => p.Topic) : options.Topics.Select(t => ParseTopicSpec(t)!.Value.Topic);
            var metadata = await TopicsMetadataAsync(client, topics, ct).ConfigureAwait(false);
            var partitions = options.AllTopics ? [.. view.Committed.Keys.Order()] : TopicPartitions(metadata, options.Topics);
            var offsets = await NewOffsetsAsync(client, view, partitions, Leaders(metadata), options.Scenarios[0], ct).ConfigureAwait(false);
            if (options.Execute)
            {
                await CommitAsync(client, view, offsets, ct).ConfigureAwait(false);
            }

            plans.Add((group, offsets));
        }

        var rows = plans.SelectMany(p => p.Offsets.Select(o => (p.Group, o.Partition.Topic, o.Partition.Partition, o.Offset))).ToList();
        if (options.Export)
        {
            // Kafka's CSV: topic,partition,offset per line, the group first when more than one group was asked for, and a
            // blank line at the end.
            var csv = new StringBuilder();
            foreach (var (group, topic, partition, offset) in rows)
            {
                csv.Append(groups.Count > 1 ? group + "," : "").Append(CultureInfo.InvariantCulture, $"{topic},{partition},{offset}\n");
            }

            await output.WriteLineAsync(csv.ToString()).ConfigureAwait(false);
        }
        else if (rows.Count > 0)
        {
            int[] widths = [Width(15, rows.Select(r => r.Group)), Width(15, rows.Select(r => r.Topic)), 10, 0];
            var text = new StringBuilder();
            AppendRow(text.Append('\n'), ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"], widths);
            foreach (var (group, topic, partition, offset) in rows)
            {
                AppendRow(text.Append('\n'), [group, topic, partition.ToString(CultureInfo.InvariantCulture), offset.ToString(CultureInfo.InvariantCulture)], widths);
            }

            await output.WriteAsync(text.Append('\n').ToString()).ConfigureAwait(false);
        }

        return code;
    }

    /// <summary>The partitions <c>--topic</c> names (all of a topic given without partitions); an unknown topic or partition is an error.</summary>
    private static List<(string Topic, int Partition)> TopicPartitions(MetadataResponse metadata, IReadOnlyList<string> specs)
    {
        var parsed = specs.Select(s => ParseTopicSpec(s)!.Value).ToList();
        var partitions = new SortedSet<(string, int)>();
        foreach (var (topic, chosen) in parsed)
        {
            var described = metadata.Topics.FirstOrDefault(t => t.Name == topic);
            if (described is null || described.ErrorCode != 0)
            {
                throw new AdminException($"topic {topic} does not exist ({AdminClient.ErrorName(described?.ErrorCode ?? (short)ErrorCode.UnknownTopicOrPartition)}).");
            }

            var existing = described.Partitions.Select(p => p.PartitionIndex).ToHashSet();
            foreach (var partition in chosen ?? [.. existing])
            {
                if (!existing.Contains(partition))
                {
                    throw new AdminException($"topic {topic} has no partition {partition}.");
                }

                partitions.Add((topic, partition));
            }
        }

        return [.. partitions];
    }

    private static async Task<List<((string Topic, int Partition) Partition, long Offset)>> NewOffsetsAsync(AdminClient client, GroupView view,
        List<(string Topic, int Partition)> partitions, Dictionary<(string, int), int> leaders, ResetScenario scenario, CancellationToken ct)
    {
        var earliest = await OffsetsAsync(client, partitions, leaders, EarliestTimestamp, ct).ConfigureAwait(false);
        var latest = await OffsetsAsync(client, partitions, leaders, LatestTimestamp, ct).ConfigureAwait(false);
        Dictionary<(string, int), long>? byTime = null;
        var at = scenario switch
        {
            ResetScenario.ToDatetime { Text: var text } => ParseDatetime(text)!.Value,
            ResetScenario.ByDuration { Text: var text } => DateTimeOffset.UtcNow - ParseDuration(text)!.Value,
            _ => (DateTimeOffset?)null,
        };
        if (at is { } time)
        {
            byTime = await OffsetsAsync(client, partitions, leaders, time.ToUnixTimeMilliseconds(), ct).ConfigureAwait(false);
        }

        var result = new List<((string, int), long)>();
        foreach (var partition in partitions)
        {
            if (!earliest.TryGetValue(partition, out var start) || !latest.TryGetValue(partition, out var end))
            {
                throw new AdminException($"the offsets of {partition.Topic}-{partition.Partition} are not available (no leader).");
            }

            long target = scenario switch
            {
                ResetScenario.Earliest => start,
                ResetScenario.Latest => end,
                ResetScenario.ToOffset { Offset: var offset } => offset,
                ResetScenario.ShiftBy { Shift: var shift } => view.Committed.TryGetValue(partition, out var current)
                    ? current + shift
                    : throw new AdminException($"group {view.Group} has no committed offset for {partition.Topic}-{partition.Partition} to shift."),
                ResetScenario.ToCurrent => view.Committed.TryGetValue(partition, out var committed) ? committed : end,
                _ => byTime!.TryGetValue(partition, out var found) && found >= 0 ? found : end,
            };
            result.Add((partition, Math.Clamp(target, start, end)));
        }

        return result;
    }

    private static async Task CommitAsync(AdminClient client, GroupView view, List<((string Topic, int Partition) Partition, long Offset)> offsets,
        CancellationToken ct)
    {
        // As Kafka's admin client does: no generation and no member, which the coordinator accepts only from an inactive group.
        var request = new OffsetCommitRequest
        {
            GroupId = view.Group,
            GenerationIdOrMemberEpoch = -1,
            MemberId = "",
            Topics = [.. offsets.GroupBy(o => o.Partition.Topic).Select(t => new OffsetCommitRequest.OffsetCommitRequestTopic
            {
                Name = t.Key,
                Partitions = [.. t.Select(o => new OffsetCommitRequest.OffsetCommitRequestPartition
                {
                    PartitionIndex = o.Partition.Partition,
                    CommittedOffset = o.Offset,
                    CommittedLeaderEpoch = -1,
                })],
            })],
        };
        var response = await client.SendToBrokerAsync<OffsetCommitResponse>(view.Coordinator, request, 8, ct).ConfigureAwait(false);
        var failed = response.Topics.SelectMany(t => t.Partitions.Where(p => p.ErrorCode != 0).Select(p => $"{t.Name}-{p.PartitionIndex}: {AdminClient.ErrorName(p.ErrorCode)}"))
            .ToList();
        if (failed.Count > 0)
        {
            throw new AdminException($"committing the new offsets of group {view.Group} failed: {string.Join(", ", failed)}");
        }
    }

    private static async Task<int> DeleteOffsetsAsync(AdminClient client, string group, IReadOnlyList<string> topics, TextWriter output, TextWriter error,
        CancellationToken ct)
    {
        var metadata = await TopicsMetadataAsync(client, topics.Select(t => ParseTopicSpec(t)!.Value.Topic), ct).ConfigureAwait(false);
        var partitions = TopicPartitions(metadata, topics);
        var coordinator = (await CoordinatorAsync(client, group, ct).ConfigureAwait(false)).NodeId;
        var response = await client.SendToBrokerAsync<OffsetDeleteResponse>(coordinator, new OffsetDeleteRequest
        {
            GroupId = group,
            Topics = [.. partitions.GroupBy(p => p.Topic).Select(t => new OffsetDeleteRequest.OffsetDeleteRequestTopic
            {
                Name = t.Key,
                Partitions = [.. t.Select(p => new OffsetDeleteRequest.OffsetDeleteRequestPartition { PartitionIndex = p.Partition })],
            })],
        }, 0, ct).ConfigureAwait(false);
        var results = response.Topics.SelectMany(t => t.Partitions.Select(p => (Topic: t.Name, p.PartitionIndex, p.ErrorCode))).ToList();
        var partitionErrors = results.Any(r => r.ErrorCode != 0);
        if (response.ErrorCode != 0 && !partitionErrors)
        {
            await error.WriteLineAsync($"error: deleting the offsets of group {group} failed: {AdminClient.ErrorName(response.ErrorCode)}").ConfigureAwait(false);
            return 1;
        }

        if (partitionErrors)
        {
            await error.WriteLineAsync("error: Encountered some partition-level error, see the follow-up details.").ConfigureAwait(false);
        }
        else
        {
            await output.WriteLineAsync($"Request succeeded for deleting offsets from group {group}.").ConfigureAwait(false);
        }

        int[] widths = [Width(15, results.Select(r => r.Topic)), 10, 15];
        var text = new StringBuilder();
        AppendRow(text.Append('\n'), ["TOPIC", "PARTITION", "STATUS"], widths);
        foreach (var (topic, partition, code) in results.OrderBy(r => r.Topic + r.PartitionIndex.ToString(CultureInfo.InvariantCulture), StringComparer.Ordinal))
        {
            var status = code == 0 ? "Successful" : "Error: " + AdminClient.ErrorName(code);
            AppendRow(text.Append('\n'), [topic, partition.ToString(CultureInfo.InvariantCulture), status], widths);
        }

        await output.WriteAsync(text.Append('\n').ToString()).ConfigureAwait(false);
        return partitionErrors ? 1 : 0;
    }

    /// <summary>An ISO-8601 duration as Java's Duration.parse reads it: PnDTnHnMn.nS, each part optional, at least one.</summary>
    internal static TimeSpan? ParseDuration(string text)
    {
        var match = DurationPattern().Match(text);
        if (!match.Success || !match.Groups.Values.Skip(1).Any(g => g.Success))
        {
            return null;
        }

        double Part(int index) => match.Groups[index].Success ? double.Parse(match.Groups[index].Value, CultureInfo.InvariantCulture) : 0;
        return TimeSpan.FromDays(Part(1)) + TimeSpan.FromHours(Part(2)) + TimeSpan.FromMinutes(Part(3)) + TimeSpan.FromSeconds(Part(4));
    }

    [GeneratedRegex(@"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,9})?)S)?)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();

    /// <summary>Kafka's --to-datetime forms: yyyy-MM-ddTHH:mm:ss.SSS, then an optional zone (Z, +hh:mm, +hhmm); UTC without one.</summary>
    internal static DateTimeOffset? ParseDatetime(string text)
    {
        string[] formats = ["yyyy-MM-dd'T'HH:mm:ss.fffK", "yyyy-MM-dd'T'HH:mm:ss.fffzzz", "yyyy-MM-dd'T'HH:mm:ss.fffzz"];
        if (DateTimeOffset.TryParseExact(text, formats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value))
        {
            return value;
        }

        return text.Length > 4 && (text[^5] is '+' or '-') && DateTimeOffset.TryParseExact(text.Insert(text.Length - 2, ":"), "yyyy-MM-dd'T'HH:mm:ss.fffzzz",
            CultureInfo.InvariantCulture, DateTimeStyles.None, out value) ? value : null;
    }
}
