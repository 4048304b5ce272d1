using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Cli;

/// <summary>
/// <c>kafka-broker consumer-groups</c>, in the shape of Kafka's <c>kafka-consumer-groups.sh</c>: exactly one of <c>--list</c>
/// (ListGroups), <c>--describe</c> (the offsets view: committed offset, log end offset and lag per partition with the
/// member that owns it; or <c>--members</c>, or <c>--state</c>), <c>--reset-offsets</c> (a dry run unless
/// <c>--execute</c>; the group must be inactive), <c>--delete</c> and <c>--delete-offsets</c>. Group requests go to the group's coordinator (FindCoordinator), ListOffsets to each partition's leader.
/// Stateless; thread-safe.
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

    private static async Task<int> DescribeAsync(AdminClient client, List<string> groups, DescribeView view, TextWriter output, TextWriter error,
        CancellationToken ct)
    {
        var code = 0;
        foreach (var group in groups)
        {
            var read = await ReadGroupAsync(client, group, ct).ConfigureAwait(false);
            var state = read.Description.GroupState;
            if (state == "Dead")
            {
                await error.WriteLineAsync($"error: Consumer group '{group}' does not exist.").ConfigureAwait(false);
                code = 1;
                continue;
            }

            if (state == "Empty")
            {
                await error.WriteLineAsync($"\nConsumer group '{group}' has no active members.").ConfigureAwait(false);
            }
            else if (state is "PreparingRebalance" or "CompletingRebalance")
            {
                await error.WriteLineAsync($"\nWarning: Consumer group '{group}' is rebalancing.").ConfigureAwait(false);
            }

            if (view == DescribeView.Members)
            {
                await output.WriteAsync(FormatMembers(read)).ConfigureAwait(false);
                continue;
            }

            if (view == DescribeView.State)
            {
                await output.WriteAsync(FormatState(read)).ConfigureAwait(false);
                continue;
            }

            var rows = await OffsetRowsAsync(client, read, ct).ConfigureAwait(false);
            if (rows.Count > 0)
            {
                await output.WriteAsync(FormatOffsets(rows)).ConfigureAwait(false);
            }
        }

        return code;
    }

    /// <summary>
    /// One row per partition a member owns (members with the most partitions first, each member's by topic and partition),
    /// then one per partition the group has an offset for that no member owns, with "-" for the member.
    /// </summary>
    private static async Task<List<OffsetRow>> OffsetRowsAsync(AdminClient client, GroupView view, CancellationToken ct)
    {
        var owners = new List<(DescribeGroupsResponse.DescribedGroupMember Member, List<(string Topic, int Partition)> Partitions)>();
        foreach (var member in view.Description.Members)
        {
            var partitions = AssignedPartitions(member);
            if (partitions.Count > 0)
            {
                owners.Add((member, partitions));
            }
        }

        var assigned = owners.SelectMany(o => o.Partitions).ToHashSet();
        var unowned = view.Committed.Keys.Where(p => !assigned.Contains(p)).ToList();
        var ends = await OffsetsAsync(client, [.. assigned, .. unowned], LatestTimestamp, ct).ConfigureAwait(false);
        var rows = new List<OffsetRow>();
        foreach (var (member, partitions) in owners.OrderByDescending(o => o.Partitions.Count))
        {
            rows.AddRange(partitions.Order().Select(p => Row(view, p, ends, member.MemberId, "/" + member.ClientHost.TrimStart('/'), member.ClientId)));
        }

        rows.AddRange(unowned.Order().Select(p => Row(view, p, ends, Missing, Missing, Missing)));
        return rows;
    }

    private static OffsetRow Row(GroupView view, (string Topic, int Partition) partition, Dictionary<(string, int), long> ends, string consumer, string host,
        string clientId)
    {
        long? current = view.Committed.TryGetValue(partition, out var offset) ? offset : null;
        long? end = ends.TryGetValue(partition, out var logEnd) ? logEnd : null;
        long? lag = current is { } c && end is { } e ? e - c : null;
        return new OffsetRow(view.Group, partition.Topic, partition.Partition, current, end, lag, consumer, host, clientId);
    }

    private static List<(string Topic, int Partition)> AssignedPartitions(DescribeGroupsResponse.DescribedGroupMember member)
    {
        if (member.MemberAssignment.Length < 2)
        {
            return [];
        }

        try
        {
            var reader = new KafkaReader(member.MemberAssignment);
            var version = reader.ReadInt16();
            var assignment = new ConsumerProtocolAssignment();
            assignment.Read(ref reader, Math.Min(version, ConsumerProtocolAssignment.HighestSupportedVersion));
            return [.. assignment.AssignedPartitions.SelectMany(t => t.Partitions.Select(p => (t.Topic, p)))];
        }
        catch (KafkaProtocolException)
        {
            return []; // not the consumer protocol's assignment: nothing this tool can show
        }
    }

    // Kafka's layout: columns padded to their widest value (at least 15 for group, topic, consumer id and host), each row
    // on a new line after a blank one, and a final line break.
    private static string FormatOffsets(List<OffsetRow> rows)
    {
        var group = Math.Max(15, rows.Max(r => r.Group.Length));
        var topic = Math.Max(15, rows.Max(r => r.Topic.Length));
        var consumer = Math.Max(15, rows.Max(r => r.ConsumerId.Length));
        var host = Math.Max(15, rows.Max(r => r.Host.Length));
        var text = new StringBuilder();
        void Line(string g, string t, string p, string current, string end, string lag, string c, string h, string clientId) =>
            text.Append('\n').Append(g.PadRight(group)).Append(' ').Append(t.PadRight(topic)).Append(' ').Append(p.PadRight(10)).Append(' ')
                .Append(current.PadRight(15)).Append(' ').Append(end.PadRight(15)).Append(' ').Append(lag.PadRight(15)).Append(' ')
                .Append(c.PadRight(consumer)).Append(' ').Append(h.PadRight(host)).Append(' ').Append(clientId);
        Line("GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID");
        foreach (var row in rows)
        {
            Line(row.Group, row.Topic, Text(row.Partition), Text(row.Current), Text(row.LogEnd), Text(row.Lag), row.ConsumerId, row.Host, row.ClientId);
        }

        return text.Append('\n').ToString();
    }

    // Kafka's --members layout: group, member id, (instance id when any member has one,) host and client id padded to their
    // widest value (at least 15, 17 for the instance id), then the partition count padded to 15 and a space.
    private static string FormatMembers(GroupView view)
    {
        var members = view.Description.Members.Select(m => (Member: m, Host: "/" + m.ClientHost.TrimStart('/'), Partitions: AssignedPartitions(m).Count)).ToList();
        var withInstance = members.Any(m => !string.IsNullOrEmpty(m.Member.GroupInstanceId));
        var group = Math.Max(15, members.Count == 0 ? 0 : view.Group.Length);
        var consumer = members.Aggregate(15, (w, m) => Math.Max(w, m.Member.MemberId.Length));
        var instance = members.Aggregate(17, (w, m) => Math.Max(w, (m.Member.GroupInstanceId ?? "").Length));
        var host = members.Aggregate(15, (w, m) => Math.Max(w, m.Host.Length));
        var clientId = members.Aggregate(15, (w, m) => Math.Max(w, m.Member.ClientId.Length));
        var text = new StringBuilder("\n");
        void Line(string g, string c, string i, string h, string cl, string n)
        {
            text.Append(g.PadRight(group)).Append(' ').Append(c.PadRight(consumer)).Append(' ');
            if (withInstance)
            {
                text.Append(i.PadRight(instance)).Append(' ');
            }

            text.Append(h.PadRight(host)).Append(' ').Append(cl.PadRight(clientId)).Append(' ').Append(n.PadRight(15)).Append(' ').Append('\n');
        }

        Line("GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS");
        foreach (var (member, memberHost, partitions) in members)
        {
            Line(view.Group, member.MemberId, member.GroupInstanceId ?? "", memberHost, member.ClientId, partitions.ToString(CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    // Kafka's --state layout: group (at least 15), "host:port  (id)" (at least 25), assignor and state (20 each), member count.
    private static string FormatState(GroupView view)
    {
        var coordinator = $"{view.CoordinatorAddress}  ({view.Coordinator.ToString(CultureInfo.InvariantCulture)})";
        var group = Math.Max(15, view.Group.Length);
        var coordinatorWidth = Math.Max(25, coordinator.Length);
        var strategy = string.IsNullOrEmpty(view.Description.ProtocolData) ? Missing : view.Description.ProtocolData;
        string Line(string g, string c, string a, string st, string n) =>
            "\n" + g.PadRight(group) + " " + c.PadRight(coordinatorWidth) + " " + a.PadRight(20) + " " + st.PadRight(20) + " " + n;
        return Line("GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS")
            + Line(view.Group, coordinator, strategy, view.Description.GroupState, view.Description.Members.Count.ToString(CultureInfo.InvariantCulture)) + "\n";
    }

    private static async Task<int> DeleteOffsetsAsync(AdminClient client, string group, IReadOnlyList<string> topics, TextWriter output, TextWriter error,
        CancellationToken ct)
    {
        var partitions = await TopicPartitionsAsync(client, topics, ct).ConfigureAwait(false);
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

        var topicWidth = results.Aggregate(15, (w, r) => Math.Max(w, r.Topic.Length));
        var text = new StringBuilder();
        text.Append('\n').Append("TOPIC".PadRight(topicWidth)).Append(' ').Append("PARTITION".PadRight(10)).Append(' ').Append("STATUS".PadRight(15));
        foreach (var (topic, partition, code) in results.OrderBy(r => r.Topic + r.PartitionIndex.ToString(CultureInfo.InvariantCulture), StringComparer.Ordinal))
        {
            var status = code == 0 ? "Successful" : "Error: " + AdminClient.ErrorName(code);
            text.Append('\n').Append(topic.PadRight(topicWidth)).Append(' ').Append(partition.ToString(CultureInfo.InvariantCulture).PadRight(10)).Append(' ')
                .Append(status.PadRight(15));
        }

        await output.WriteAsync(text.Append('\n').ToString()).ConfigureAwait(false);
        return partitionErrors ? 1 : 0;
    }

    private static string Text(long? value) => value is { } v ? v.ToString(CultureInfo.InvariantCulture) : Missing;

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

            var partitions = options.AllTopics ? [.. view.Committed.Keys.Order()] : await TopicPartitionsAsync(client, options.Topics, ct).ConfigureAwait(false);
            var offsets = await NewOffsetsAsync(client, view, partitions, options.Scenarios[0], ct).ConfigureAwait(false);
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
            var groupWidth = Math.Max(15, rows.Max(r => r.Group.Length));
            var topicWidth = Math.Max(15, rows.Max(r => r.Topic.Length));
            var text = new StringBuilder();
            text.Append('\n').Append("GROUP".PadRight(groupWidth)).Append(' ').Append("TOPIC".PadRight(topicWidth)).Append(' ').Append("PARTITION".PadRight(10))
                .Append(" NEW-OFFSET");
            foreach (var (group, topic, partition, offset) in rows)
            {
                text.Append('\n').Append(group.PadRight(groupWidth)).Append(' ').Append(topic.PadRight(topicWidth)).Append(' ')
                    .Append(partition.ToString(CultureInfo.InvariantCulture).PadRight(10)).Append(' ').Append(offset.ToString(CultureInfo.InvariantCulture));
            }

            await output.WriteAsync(text.Append('\n').ToString()).ConfigureAwait(false);
        }

        return code;
    }

    private static async Task<List<(string Topic, int Partition)>> TopicPartitionsAsync(AdminClient client, IReadOnlyList<string> specs, CancellationToken ct)
    {
        var parsed = specs.Select(s => ParseTopicSpec(s)!.Value).ToList();
        var metadata = await client.MetadataAsync([.. parsed.Select(p => p.Topic).Distinct(StringComparer.Ordinal)], ct).ConfigureAwait(false);
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
        List<(string Topic, int Partition)> partitions, ResetScenario scenario, CancellationToken ct)
    {
        var earliest = await OffsetsAsync(client, partitions, EarliestTimestamp, ct).ConfigureAwait(false);
        var latest = await OffsetsAsync(client, partitions, LatestTimestamp, ct).ConfigureAwait(false);
        Dictionary<(string, int), long>? byTime = null;
        var at = scenario switch
        {
            ResetScenario.ToDatetime { Text: var text } => ParseDatetime(text)!.Value,
            ResetScenario.ByDuration { Text: var text } => DateTimeOffset.UtcNow - ParseDuration(text)!.Value,
            _ => (DateTimeOffset?)null,
        };
        if (at is { } time)
        {
            byTime = await OffsetsAsync(client, partitions, time.ToUnixTimeMilliseconds(), ct).ConfigureAwait(false);
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

    /// <summary>ListOffsets at <paramref name="timestamp"/> for each partition, asked of its leader; a partition without one is left out.</summary>
    private static async Task<Dictionary<(string, int), long>> OffsetsAsync(AdminClient client, IReadOnlyCollection<(string Topic, int Partition)> partitions,
        long timestamp, CancellationToken ct)
    {
        var result = new Dictionary<(string, int), long>();
        if (partitions.Count == 0)
        {
            return result;
        }

        var metadata = await client.MetadataAsync([.. partitions.Select(p => p.Topic).Distinct(StringComparer.Ordinal)], ct).ConfigureAwait(false);
        var leaders = new Dictionary<(string, int), int>();
        foreach (var topic in metadata.Topics.Where(t => t.ErrorCode == 0))
        {
            foreach (var partition in topic.Partitions.Where(p => p.LeaderId >= 0))
            {
                leaders[(topic.Name!, partition.PartitionIndex)] = partition.LeaderId;
            }
        }

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

    private sealed record GroupView(string Group, int Coordinator, string CoordinatorAddress, DescribeGroupsResponse.DescribedGroup Description,
        Dictionary<(string Topic, int Partition), long> Committed);

    private sealed record OffsetRow(string Group, string Topic, int Partition, long? Current, long? LogEnd, long? Lag, string ConsumerId, string Host,
        string ClientId);
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
