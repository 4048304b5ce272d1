using System.Globalization;
using System.Text;
using Broker.Protocol;
using Broker.Protocol.Messages;

namespace Broker.Cli;

// consumer-groups --describe: the offsets view (the default), --members and --state, in Kafka's layouts.
internal static partial class ConsumerGroupsCommand
{
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
        List<(string Topic, int Partition)> all = [.. assigned, .. unowned];
        var metadata = await TopicsMetadataAsync(client, all.Select(p => p.Topic), ct).ConfigureAwait(false);
        var ends = await OffsetsAsync(client, all, Leaders(metadata), LatestTimestamp, ct).ConfigureAwait(false);
        var rows = new List<OffsetRow>();
        foreach (var (member, partitions) in owners.OrderByDescending(o => o.Partitions.Count))
        {
            rows.AddRange(partitions.Order().Select(p => Row(view, p, ends, member.MemberId, HostOf(member), member.ClientId)));
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
        int[] widths =
        [
            Width(15, rows.Select(r => r.Group)), Width(15, rows.Select(r => r.Topic)), 10, 15, 15, 15, Width(15, rows.Select(r => r.ConsumerId)),
            Width(15, rows.Select(r => r.Host)), 0,
        ];
        var text = new StringBuilder();
        AppendRow(text.Append('\n'), ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"], widths);
        foreach (var row in rows)
        {
            AppendRow(text.Append('\n'),
                [row.Group, row.Topic, Text(row.Partition), Text(row.Current), Text(row.LogEnd), Text(row.Lag), row.ConsumerId, row.Host, row.ClientId], widths);
        }

        return text.Append('\n').ToString();
    }

    // Kafka's --members layout: group, member id, (instance id when any member has one,) host and client id padded to their
    // widest value (at least 15, 17 for the instance id), then the partition count padded to 15 and a space.
    private static string FormatMembers(GroupView view)
    {
        var members = view.Description.Members;
        var withInstance = members.Any(m => !string.IsNullOrEmpty(m.GroupInstanceId));
        var group = Width(15, members.Select(_ => view.Group));
        var consumer = Width(15, members.Select(m => m.MemberId));
        var instance = Width(17, members.Select(m => m.GroupInstanceId ?? ""));
        var host = Width(15, members.Select(HostOf));
        var clientId = Width(15, members.Select(m => m.ClientId));

        // The partition count is padded too and followed by a space (an empty last cell), as Kafka prints it.
        int[] widths = withInstance ? [group, consumer, instance, host, clientId, 15, 0] : [group, consumer, host, clientId, 15, 0];
        var text = new StringBuilder("\n");
        void Line(string g, string c, string i, string h, string cl, string n) =>
            AppendRow(text, withInstance ? [g, c, i, h, cl, n, ""] : [g, c, h, cl, n, ""], widths).Append('\n');
        Line("GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS");
        foreach (var member in members)
        {
            Line(view.Group, member.MemberId, member.GroupInstanceId ?? "", HostOf(member), member.ClientId,
                AssignedPartitions(member).Count.ToString(CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    // Kafka's --state layout: group (at least 15), "host:port  (id)" (at least 25), assignor and state (20 each), member count.
    private static string FormatState(GroupView view)
    {
        var coordinator = $"{view.CoordinatorAddress}  ({view.Coordinator.ToString(CultureInfo.InvariantCulture)})";
        var strategy = string.IsNullOrEmpty(view.Description.ProtocolData) ? Missing : view.Description.ProtocolData;
        int[] widths = [Width(15, [view.Group]), Width(25, [coordinator]), 20, 20, 0];
        var text = new StringBuilder();
        AppendRow(text.Append('\n'), ["GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"], widths);
        AppendRow(text.Append('\n'),
            [view.Group, coordinator, strategy, view.Description.GroupState, view.Description.Members.Count.ToString(CultureInfo.InvariantCulture)], widths);
        return text.Append('\n').ToString();
    }

    /// <summary>A member's host as Kafka's tool shows it, with Java's leading slash.</summary>
    private static string HostOf(DescribeGroupsResponse.DescribedGroupMember member) => "/" + member.ClientHost.TrimStart('/');

    private sealed record OffsetRow(string Group, string Topic, int Partition, long? Current, long? LogEnd, long? Lag, string ConsumerId, string Host,
        string ClientId);
}
