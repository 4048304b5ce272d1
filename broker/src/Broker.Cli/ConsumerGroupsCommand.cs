using System.CommandLine;
using System.Globalization;
using System.Text;
using Broker.Protocol.Messages;

namespace Broker.Cli;

/// <summary>
/// <c>kafka-broker consumer-groups</c>, in the shape of Kafka's <c>kafka-consumer-groups.sh</c>: exactly one of <c>--list</c>
/// (ListGroups), <c>--describe</c> (the offsets view: committed offset, log end offset and lag per partition with the
/// member that owns it; or <c>--members</c>, or <c>--state</c>), <c>--reset-offsets</c> (a dry run unless
/// <c>--execute</c>; the group must be inactive), <c>--delete</c> and <c>--delete-offsets</c>. Group requests go to the
/// group's coordinator (FindCoordinator), ListOffsets to each partition's leader. This file holds the arguments, the group
/// lookups and the shared table layout; ConsumerGroupsCommand.Describe.cs the describe views; ConsumerGroupsCommand.Offsets.cs
/// the offset resets and deletions. Stateless; thread-safe.
/// </summary>
internal static partial class ConsumerGroupsCommand
{
    private const string Missing = "-";

    // ListOffsets' special timestamps.
    private const long LatestTimestamp = -1;
    private const long EarliestTimestamp = -2;

    public static Command Create()
    {
        var bootstrap = new Option<string?>("--bootstrap-server") { Description = "Broker endpoints, host:port,...", HelpName = "host:port" };
        var list = new Option<bool>("--list") { Description = "List the consumer groups." };
        var describe = new Option<bool>("--describe") { Description = "Describe the group's offsets and lag." };
        var delete = new Option<bool>("--delete") { Description = "Delete the group (it must have no members)." };
        var reset = new Option<bool>("--reset-offsets") { Description = "Reset the group's committed offsets (dry run unless --execute)." };
        var deleteOffsets = new Option<bool>("--delete-offsets") { Description = "Delete the group's offsets of --topic (the group must not consume it)." };
        var members = new Option<bool>("--members") { Description = "--describe: the group's members." };
        var state = new Option<bool>("--state") { Description = "--describe: the group's coordinator, assignor, state and size." };
        var group = new Option<string[]>("--group") { Description = "The group (repeatable).", HelpName = "group", AllowMultipleArgumentsPerToken = false };
        var allGroups = new Option<bool>("--all-groups") { Description = "Every consumer group." };
        var topic = new Option<string[]>("--topic")
        {
            Description = "--reset-offsets: a topic, or topic:partition,partition (repeatable).",
            HelpName = "topic[:partitions]",
            AllowMultipleArgumentsPerToken = false,
        };
        var allTopics = new Option<bool>("--all-topics") { Description = "--reset-offsets: every partition the group has an offset for." };
        var toEarliest = new Option<bool>("--to-earliest") { Description = "Reset to the log start offset." };
        var toLatest = new Option<bool>("--to-latest") { Description = "Reset to the log end offset." };
        var toOffset = new Option<long?>("--to-offset") { Description = "Reset to this offset (within the log's range).", HelpName = "offset" };
        var shiftBy = new Option<long?>("--shift-by") { Description = "Move the committed offset by this many records (negative: back).", HelpName = "n" };
        var toDatetime = new Option<string?>("--to-datetime")
        {
            Description = "Reset to the first offset at or after this time, yyyy-MM-ddTHH:mm:ss.SSS with an optional zone (default UTC).",
            HelpName = "datetime",
        };
        var byDuration = new Option<string?>("--by-duration")
        {
            Description = "Reset to the first offset at or after this long ago, an ISO-8601 duration PnDTnHnMnS.",
            HelpName = "duration",
        };
        var toCurrent = new Option<bool>("--to-current") { Description = "Reset to the committed offset (the log end where there is none)." };
        var export = new Option<bool>("--export") { Description = "--reset-offsets: print the new offsets as CSV (topic,partition,offset)." };
        var execute = new Option<bool>("--execute") { Description = "--reset-offsets: commit the new offsets." };
        var dryRun = new Option<bool>("--dry-run") { Description = "--reset-offsets: only print the new offsets (the default)." };
        var command = new Command("consumer-groups", "List, describe, reset and delete consumer groups, like Kafka's kafka-consumer-groups tool.");
        foreach (var option in new Option[] { bootstrap, list, describe, delete, reset, deleteOffsets, members, state, group, allGroups, topic, allTopics, toEarliest, toLatest, toOffset, shiftBy, toDatetime, byDuration, toCurrent, export, execute, dryRun })
        {
            command.Options.Add(option);
        }

        command.SetAction((result, ct) =>
        {
            var actions = new[]
            {
                (result.GetValue(list), GroupsAction.List), (result.GetValue(describe), GroupsAction.Describe),
                (result.GetValue(delete), GroupsAction.Delete), (result.GetValue(reset), GroupsAction.Reset),
                (result.GetValue(deleteOffsets), GroupsAction.DeleteOffsets),
            }.Where(a => a.Item1).ToList();
            var scenarios = new List<ResetScenario>();
            if (result.GetValue(toEarliest))
            {
                scenarios.Add(new ResetScenario.Earliest());
            }

            if (result.GetValue(toLatest))
            {
                scenarios.Add(new ResetScenario.Latest());
            }

            if (result.GetValue(toOffset) is { } offset)
            {
                scenarios.Add(new ResetScenario.ToOffset(offset));
            }

            if (result.GetValue(shiftBy) is { } shift)
            {
                scenarios.Add(new ResetScenario.ShiftBy(shift));
            }

            if (result.GetValue(toDatetime) is { } datetime)
            {
                scenarios.Add(new ResetScenario.ToDatetime(datetime));
            }

            if (result.GetValue(byDuration) is { } duration)
            {
                scenarios.Add(new ResetScenario.ByDuration(duration));
            }

            if (result.GetValue(toCurrent))
            {
                scenarios.Add(new ResetScenario.ToCurrent());
            }

            var options = new GroupsOptions(result.GetValue(bootstrap), result.GetValue(group) ?? [], result.GetValue(allGroups), result.GetValue(topic) ?? [],
                result.GetValue(allTopics), scenarios, result.GetValue(execute) && !result.GetValue(dryRun))
            {
                View = result.GetValue(members) ? DescribeView.Members : result.GetValue(state) ? DescribeView.State : DescribeView.Offsets,
                Export = result.GetValue(export),
            };
            var action = actions.Count == 1 ? actions[0].Item2 : GroupsAction.None;
            return RunAsync(action, options, result.InvocationConfiguration.Output, result.InvocationConfiguration.Error, ct);
        });
        return command;
    }

    /// <summary>0 on success, 1 when the cluster refused or did not answer, 2 on bad arguments.</summary>
    internal static async Task<int> RunAsync(GroupsAction action, GroupsOptions options, TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (action == GroupsAction.None)
        {
            await error.WriteLineAsync("error: give exactly one of --list, --describe, --reset-offsets, --delete and --delete-offsets.").ConfigureAwait(false);
            return CliApplication.ConfigErrorExitCode;
        }

        if (action != GroupsAction.List && options.Groups.Count == 0 && !options.AllGroups)
        {
            await error.WriteLineAsync($"error: --{ActionName(action)} needs --group or --all-groups.").ConfigureAwait(false);
            return CliApplication.ConfigErrorExitCode;
        }

        if (action == GroupsAction.DeleteOffsets && (options.Groups.Count != 1 || options.Topics.Count == 0 || options.Topics.Any(t => ParseTopicSpec(t) is null)))
        {
            await error.WriteLineAsync("error: --delete-offsets needs one --group and --topic topic[:partition,partition]...").ConfigureAwait(false);
            return CliApplication.ConfigErrorExitCode;
        }

        if (action == GroupsAction.Reset && UsageOfReset(options) is { } usage)
        {
            await error.WriteLineAsync($"error: {usage}").ConfigureAwait(false);
            return CliApplication.ConfigErrorExitCode;
        }

        await using var client = AdminClient.TryCreate(options.Bootstrap, "consumer-groups", error);
        if (client is null)
        {
            return CliApplication.ConfigErrorExitCode;
        }

        try
        {
            if (action == GroupsAction.List)
            {
                foreach (var name in await ListGroupsAsync(client, ct).ConfigureAwait(false))
                {
                    await output.WriteLineAsync(name).ConfigureAwait(false);
                }

                return 0;
            }

            var groups = options.AllGroups ? await ListGroupsAsync(client, ct).ConfigureAwait(false) : options.Groups.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            return action switch
            {
                GroupsAction.Describe => await DescribeAsync(client, groups, options.View, output, error, ct).ConfigureAwait(false),
                GroupsAction.Delete => await DeleteAsync(client, groups, output, error, ct).ConfigureAwait(false),
                GroupsAction.DeleteOffsets => await DeleteOffsetsAsync(client, groups[0], options.Topics, output, error, ct).ConfigureAwait(false),
                _ => await ResetAsync(client, groups, options, output, error, ct).ConfigureAwait(false),
            };
        }
        catch (AdminException e)
        {
            await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static string ActionName(GroupsAction action) => action switch
    {
        GroupsAction.Describe => "describe",
        GroupsAction.Delete => "delete",
        GroupsAction.DeleteOffsets => "delete-offsets",
        _ => "reset-offsets",
    };

    private static string? UsageOfReset(GroupsOptions options)
    {
        if (options.Scenarios.Count != 1)
        {
            return "--reset-offsets needs exactly one of --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime, --by-duration and --to-current.";
        }

        if (options.Topics.Count == 0 == !options.AllTopics)
        {
            return "--reset-offsets needs one of the reset scopes: --all-topics, --topic.";
        }

        if (options.Scenarios[0] is ResetScenario.ToDatetime { Text: var text } && ParseDatetime(text) is null)
        {
            return $"--to-datetime '{text}' is not yyyy-MM-ddTHH:mm:ss.SSS (optionally followed by a zone such as Z or +02:00).";
        }

        if (options.Scenarios[0] is ResetScenario.ByDuration { Text: var duration } && ParseDuration(duration) is null)
        {
            return $"--by-duration '{duration}' is not an ISO-8601 duration such as PT1H30M or P1DT12H.";
        }

        foreach (var spec in options.Topics)
        {
            if (ParseTopicSpec(spec) is null)
            {
                return $"--topic '{spec}' is not topic or topic:partition,partition.";
            }
        }

        return null;
    }

    private static async Task<List<string>> ListGroupsAsync(AdminClient client, CancellationToken ct)
    {
        var metadata = await client.MetadataAsync([], ct).ConfigureAwait(false);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var broker in metadata.Brokers)
        {
            var response = await client.SendToBrokerAsync<ListGroupsResponse>(broker.NodeId, new ListGroupsRequest(), 4, ct).ConfigureAwait(false);
            if (response.ErrorCode != 0)
            {
                throw new AdminException($"listing the groups of broker {broker.NodeId} failed: {AdminClient.ErrorName(response.ErrorCode)}");
            }

            // Consumer groups: protocol type "consumer", or none yet (a group that only has committed offsets).
            names.UnionWith(response.Groups.Where(g => g.ProtocolType is "consumer" or "").Select(g => g.GroupId));
        }

        return [.. names];
    }

    private static async Task<FindCoordinatorResponse.Coordinator> CoordinatorAsync(AdminClient client, string group, CancellationToken ct)
    {
        var response = await client.SendAsync<FindCoordinatorResponse>(new FindCoordinatorRequest { KeyType = 0, CoordinatorKeys = [group] }, 4, ct)
            .ConfigureAwait(false);
        var coordinator = response.Coordinators.FirstOrDefault() ?? throw new AdminException($"FindCoordinator answered without group {group}.");
        if (coordinator.ErrorCode != 0)
        {
            throw new AdminException($"finding the coordinator of group {group} failed: {AdminClient.ErrorText(coordinator.ErrorCode, coordinator.ErrorMessage)}");
        }

        return coordinator;
    }

    private static async Task<GroupView> ReadGroupAsync(AdminClient client, string group, CancellationToken ct)
    {
        var found = await CoordinatorAsync(client, group, ct).ConfigureAwait(false);
        var coordinator = found.NodeId;
        var described = await client.SendToBrokerAsync<DescribeGroupsResponse>(coordinator, new DescribeGroupsRequest { Groups = [group] }, 5, ct)
            .ConfigureAwait(false);
        var description = described.Groups.FirstOrDefault() ?? throw new AdminException($"DescribeGroups answered without group {group}.");
        if (description.ErrorCode != 0)
        {
            throw new AdminException($"describing group {group} failed: {AdminClient.ErrorName(description.ErrorCode)}");
        }

        var fetched = await client.SendToBrokerAsync<OffsetFetchResponse>(coordinator, new OffsetFetchRequest
        {
            Groups = [new OffsetFetchRequest.OffsetFetchRequestGroup { GroupId = group, Topics = null }],
        }, 8, ct).ConfigureAwait(false);
        var offsets = fetched.Groups.FirstOrDefault() ?? throw new AdminException($"OffsetFetch answered without group {group}.");
        if (offsets.ErrorCode != 0)
        {
            throw new AdminException($"fetching the offsets of group {group} failed: {AdminClient.ErrorName(offsets.ErrorCode)}");
        }

        var committed = new Dictionary<(string Topic, int Partition), long>();
        foreach (var topic in offsets.Topics)
        {
            foreach (var partition in topic.Partitions.Where(p => p.ErrorCode == 0 && p.CommittedOffset >= 0))
            {
                committed[(topic.Name, partition.PartitionIndex)] = partition.CommittedOffset;
            }
        }

        return new GroupView(group, coordinator, $"{found.Host}:{found.Port}", description, committed);
    }

    private static string Text(long? value) => value is { } v ? v.ToString(CultureInfo.InvariantCulture) : Missing;

    /// <summary>Appends one row of Kafka's tool tables: each cell padded to its column's width (0: as it is), single spaces between.</summary>
    private static StringBuilder AppendRow(StringBuilder text, string[] cells, int[] widths)
    {
        for (var i = 0; i < cells.Length; i++)
        {
            text.Append(i == 0 ? "" : " ").Append(cells[i].PadRight(widths[i]));
        }

        return text;
    }

    /// <summary>A column's width: its widest value, at least <paramref name="minimum"/>.</summary>
    private static int Width(int minimum, IEnumerable<string> values) => values.Aggregate(minimum, (width, value) => Math.Max(width, value.Length));

    /// <summary>Metadata v12 of these topics (each once), for their partitions and leaders.</summary>
    private static Task<MetadataResponse> TopicsMetadataAsync(AdminClient client, IEnumerable<string> topics, CancellationToken ct) =>
        client.MetadataAsync([.. topics.Distinct(StringComparer.Ordinal)], ct);

    /// <summary>Each partition's leader in <paramref name="metadata"/>; a partition without one is left out.</summary>
    private static Dictionary<(string, int), int> Leaders(MetadataResponse metadata)
    {
        var leaders = new Dictionary<(string, int), int>();
        foreach (var topic in metadata.Topics.Where(t => t.ErrorCode == 0))
        {
            foreach (var partition in topic.Partitions.Where(p => p.LeaderId >= 0))
            {
                leaders[(topic.Name!, partition.PartitionIndex)] = partition.LeaderId;
            }
        }

        return leaders;
    }

    /// <summary>ListOffsets at <paramref name="timestamp"/> for each partition, asked of its leader; a partition without one is left out.</summary>
    private static async Task<Dictionary<(string, int), long>> OffsetsAsync(AdminClient client, IReadOnlyCollection<(string Topic, int Partition)> partitions,
        Dictionary<(string, int), int> leaders, long timestamp, CancellationToken ct)
    {
        var result = new Dictionary<(string, int), long>();
        foreach (var byLeader in partitions.Where(leaders.ContainsKey).GroupBy(p => leaders[p]))
        {
            var request = new ListOffsetsRequest
            {
                ReplicaId = -1,
                Topics = [.. byLeader.GroupBy(p => p.Topic).Select(t => new ListOffsetsRequest.ListOffsetsTopic
                {
                    Name = t.Key,
                    Partitions = [.. t.Select(p => new ListOffsetsRequest.ListOffsetsPartition { PartitionIndex = p.Partition, Timestamp = timestamp })],
                })],
            };
            var response = await client.SendToBrokerAsync<ListOffsetsResponse>(byLeader.Key, request, 7, ct).ConfigureAwait(false);
            foreach (var topic in response.Topics)
            {
                foreach (var partition in topic.Partitions.Where(p => p.ErrorCode == 0))
                {
                    result[(topic.Name, partition.PartitionIndex)] = partition.Offset;
                }
            }
        }

        return result;
    }

    private static async Task<int> DeleteAsync(AdminClient client, List<string> groups, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var deleted = new List<string>();
        var failed = new List<(string Group, string Reason)>();
        foreach (var group in groups)
        {
            var coordinator = (await CoordinatorAsync(client, group, ct).ConfigureAwait(false)).NodeId;
            var response = await client.SendToBrokerAsync<DeleteGroupsResponse>(coordinator, new DeleteGroupsRequest { GroupsNames = [group] }, 2, ct)
                .ConfigureAwait(false);
            var result = response.Results.FirstOrDefault() ?? throw new AdminException($"DeleteGroups answered without group {group}.");
            if (result.ErrorCode == 0)
            {
                deleted.Add(group);
            }
            else
            {
                failed.Add((group, AdminClient.ErrorName(result.ErrorCode)));
            }
        }

        static string Quoted(IEnumerable<string> names) => string.Join(", ", names.Select(g => $"'{g}'"));
        if (failed.Count == 0)
        {
            await output.WriteLineAsync($"Deletion of requested consumer groups ({Quoted(deleted)}) was successful.").ConfigureAwait(false);
            return 0;
        }

        var text = new StringBuilder("error: Deletion of some consumer groups failed:\n");
        foreach (var (group, reason) in failed)
        {
            text.Append(CultureInfo.InvariantCulture, $"* Group '{group}' could not be deleted due to: {reason}\n");
        }

        if (deleted.Count > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"\nThese consumer groups were deleted successfully: {Quoted(deleted)}\n");
        }

        await error.WriteAsync(text.ToString()).ConfigureAwait(false);
        return 1;
    }

    /// <summary>"topic" (every partition: null) or "topic:0,1".</summary>
    private static (string Topic, List<int>? Partitions)? ParseTopicSpec(string spec)
    {
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return spec.Length == 0 ? null : (spec, null);
        }

        var partitions = new List<int>();
        foreach (var part in spec[(colon + 1)..].Split(','))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var partition))
            {
                return null;
            }

            partitions.Add(partition);
        }

        return colon == 0 ? null : (spec[..colon], partitions);
    }

    private sealed record GroupView(string Group, int Coordinator, string CoordinatorAddress, DescribeGroupsResponse.DescribedGroup Description,
        Dictionary<(string Topic, int Partition), long> Committed);

}

internal enum GroupsAction
{
    None,
    List,
    Describe,
    Delete,
    Reset,
    DeleteOffsets,
}

/// <summary>What --describe shows: offsets (the default), --members or --state.</summary>
internal enum DescribeView
{
    Offsets,
    Members,
    State,
}

/// <summary>How --reset-offsets chooses each partition's new offset.</summary>
internal abstract record ResetScenario
{
    public sealed record Earliest : ResetScenario;

    public sealed record Latest : ResetScenario;

    public sealed record ToOffset(long Offset) : ResetScenario;

    public sealed record ShiftBy(long Shift) : ResetScenario;

    public sealed record ToDatetime(string Text) : ResetScenario;

    public sealed record ByDuration(string Text) : ResetScenario;

    public sealed record ToCurrent : ResetScenario;
}

/// <summary>The consumer-groups arguments after parsing.</summary>
internal sealed record GroupsOptions(string? Bootstrap, IReadOnlyList<string> Groups, bool AllGroups, IReadOnlyList<string> Topics, bool AllTopics,
    IReadOnlyList<ResetScenario> Scenarios, bool Execute)
{
    public DescribeView View { get; init; }

    /// <summary>--reset-offsets --export: CSV instead of the table.</summary>
    public bool Export { get; init; }
}
