using System.CommandLine;
using System.Globalization;
using System.Text;
using Broker.Protocol.Messages;

namespace Broker.Cli;

/// <summary>
/// <c>kafka-broker reassign-partitions</c>, in the shape of Kafka's <c>kafka-reassign-partitions.sh</c>: <c>--execute</c>
/// (AlterPartitionReassignments of a reassignment JSON file), <c>--verify</c> (ListPartitionReassignments and Metadata;
/// exit 0 only when every partition of the file is done), <c>--cancel</c>, <c>--list</c> and <c>--generate</c> (a
/// proposal that spreads the given topics over <c>--broker-list</c>). Stateless; thread-safe.
/// </summary>
internal static class ReassignPartitionsCommand
{
    public static Command Create()
    {
        var bootstrap = new Option<string?>("--bootstrap-server") { Description = "Broker endpoints, host:port,...", HelpName = "host:port" };
        var file = new Option<string?>("--reassignment-json-file")
        {
            Description = "--execute, --verify, --cancel: the plan, {\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[1,2,3]}]}.",
            HelpName = "path",
        };
        var execute = new Option<bool>("--execute") { Description = "Start the reassignments of the file." };
        var verify = new Option<bool>("--verify") { Description = "Report whether the reassignments of the file are done (exit 0 only when all are)." };
        var cancel = new Option<bool>("--cancel") { Description = "Cancel the ongoing reassignments of the file's partitions." };
        var list = new Option<bool>("--list") { Description = "List the ongoing reassignments." };
        var generate = new Option<bool>("--generate") { Description = "Propose a plan that moves --topics-to-move-json-file's topics onto --broker-list." };
        var additional = new Option<bool>("--additional") { Description = "--execute: start even though other reassignments are ongoing." };
        var throttle = new Option<long>("--throttle")
        {
            Description = "--execute: limit the moving replicas' replication to this many bytes/s (removed by --verify once done).",
            HelpName = "bytes/s",
            DefaultValueFactory = _ => -1,
        };
        var preserve = new Option<bool>("--preserve-throttles") { Description = "--verify: leave the throttles in place." };
        var topics = new Option<string?>("--topics-to-move-json-file")
        {
            Description = "--generate: {\"version\":1,\"topics\":[{\"topic\":\"t\"}]}.",
            HelpName = "path",
        };
        var brokers = new Option<string?>("--broker-list") { Description = "--generate: the brokers to spread the replicas over, 1,2,3.", HelpName = "ids" };
        var command = new Command("reassign-partitions", "Move partition replicas between brokers, like Kafka's kafka-reassign-partitions tool.");
        foreach (var option in new Option[] { bootstrap, file, execute, verify, cancel, list, generate, additional, throttle, preserve, topics, brokers })
        {
            command.Options.Add(option);
        }

        command.SetAction((result, ct) =>
        {
            var chosen = new (bool Given, ReassignAction Action)[]
            {
                (result.GetValue(execute), ReassignAction.Execute), (result.GetValue(verify), ReassignAction.Verify),
                (result.GetValue(cancel), ReassignAction.Cancel), (result.GetValue(list), ReassignAction.List),
                (result.GetValue(generate), ReassignAction.Generate),
            }.Where(a => a.Given).ToList();
            var options = new ReassignOptions(result.GetValue(bootstrap), chosen.Count == 1 ? chosen[0].Action : ReassignAction.None,
                result.GetValue(file), result.GetValue(additional), result.GetValue(topics), result.GetValue(brokers))
            {
                Throttle = result.GetValue(throttle),
                PreserveThrottles = result.GetValue(preserve),
            };
            return RunAsync(options, result.InvocationConfiguration.Output, result.InvocationConfiguration.Error, ct);
        });
        return command;
    }

    /// <summary>0 on success (for --verify: every reassignment done), 1 when refused, unreachable or not done, 2 on bad arguments.</summary>
    internal static async Task<int> RunAsync(ReassignOptions options, TextWriter output, TextWriter error, CancellationToken ct)
    {
        List<PartitionTarget> plan = [];
        List<string> topicsToMove = [];
        List<int> brokerList = [];
        try
        {
            switch (options.Action)
            {
                case ReassignAction.None:
                    throw new FormatException("give exactly one of --execute, --verify, --cancel, --list and --generate.");
                case ReassignAction.Execute or ReassignAction.Verify or ReassignAction.Cancel:
                    plan = ReassignmentJson.ParsePlan(ReadFile(options.ReassignmentFile, "--reassignment-json-file"));
                    break;
                case ReassignAction.Generate:
                    topicsToMove = ReassignmentJson.ParseTopics(ReadFile(options.TopicsFile, "--topics-to-move-json-file"));
                    brokerList = ParseBrokerList(options.BrokerList);
                    break;
            }
        }
        catch (FormatException e)
        {
            await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return CliApplication.ConfigErrorExitCode;
        }

        await using var client = AdminClient.TryCreate(options.Bootstrap, "reassign-partitions", error);
        if (client is null)
        {
            return CliApplication.ConfigErrorExitCode;
        }

        try
        {
            return options.Action switch
            {
                ReassignAction.Execute => await ExecuteAsync(client, plan, options, output, error, ct).ConfigureAwait(false),
                ReassignAction.Verify => await VerifyAsync(client, plan, options.PreserveThrottles, output, ct).ConfigureAwait(false),
                ReassignAction.Cancel => await CancelAsync(client, plan, output, error, ct).ConfigureAwait(false),
                ReassignAction.List => await ListAsync(client, output, ct).ConfigureAwait(false),
                _ => await GenerateAsync(client, topicsToMove, brokerList, output, ct).ConfigureAwait(false),
            };
        }
        catch (AdminException e)
        {
            await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static string ReadFile(string? path, string option)
    {
        if (string.IsNullOrEmpty(path))
        {
            throw new FormatException($"this action needs {option}.");
        }

        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"cannot read {option} {path}: {e.Message}");
        }
    }

    private static List<int> ParseBrokerList(string? text)
    {
        var result = new List<int>();
        foreach (var item in (text ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            result.Add(int.TryParse(item, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id) && id >= 0
                ? id : throw new FormatException($"--broker-list item '{item}' is not a broker id."));
        }

        if (result.Count == 0)
        {
            throw new FormatException("--generate needs --broker-list, e.g. 1,2,3.");
        }

        return result.Distinct().Count() == result.Count ? result : throw new FormatException($"--broker-list has duplicates: {text}");
    }

    private static async Task<int> ExecuteAsync(AdminClient client, List<PartitionTarget> plan, ReassignOptions options, TextWriter output, TextWriter error,
        CancellationToken ct)
    {
        if (!options.Additional && (await OngoingAsync(client, null, ct).ConfigureAwait(false)).Count > 0)
        {
            await error.WriteLineAsync("error: other partition reassignments are in progress; wait for them (--list) or add --additional.").ConfigureAwait(false);
            return 1;
        }

        var metadata = await client.MetadataAsync([.. plan.Select(p => p.Topic).Distinct()], ct).ConfigureAwait(false);
        if (plan.SelectMany(p => p.Replicas).FirstOrDefault(id => metadata.Brokers.All(b => b.NodeId != id), -1) is var unknown and >= 0)
        {
            await error.WriteLineAsync($"error: unknown broker id {unknown}.").ConfigureAwait(false);
            return 1;
        }

        var current = CurrentAssignment(metadata);
        if (plan.FirstOrDefault(p => !current.ContainsKey((p.Topic, p.Partition))) is { } missing)
        {
            await error.WriteLineAsync($"error: partition {missing.Name} does not exist.").ConfigureAwait(false);
            return 1;
        }

        var rollback = plan.Select(p => p with { Replicas = current[(p.Topic, p.Partition)] });
        await output.WriteAsync($"Current partition replica assignment\n\n{ReassignmentJson.Format(rollback)}\n\n"
            + "Save this to use as the --reassignment-json-file option during rollback\n").ConfigureAwait(false);
        if (options.Throttle >= 0)
        {
            await ReassignmentThrottle.SetAsync(client, plan, current, options.Throttle, output, ct).ConfigureAwait(false);
        }

        var failed = await AlterAsync(client, plan, cancel: false, ct).ConfigureAwait(false);
        if (failed.Count > 0)
        {
            await error.WriteLineAsync("error: reassigning partition(s) failed:\n" + string.Join("\n", failed.Select(f => $"{f.Name}: {f.Error}")))
                .ConfigureAwait(false);
            return 1;
        }

        await output.WriteLineAsync($"Successfully started partition reassignment{(plan.Count == 1 ? "" : "s")} for "
            + string.Join(",", Sorted(plan).Select(p => p.Name))).ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> VerifyAsync(AdminClient client, List<PartitionTarget> plan, bool preserveThrottles, TextWriter output, CancellationToken ct)
    {
        var ongoing = await OngoingAsync(client, plan, ct).ConfigureAwait(false);
        var current = CurrentAssignment(await client.MetadataAsync([.. plan.Select(p => p.Topic).Distinct()], ct).ConfigureAwait(false));
        var text = new StringBuilder("Status of partition reassignment:\n");
        var allDone = true;
        foreach (var target in Sorted(plan))
        {
            if (ongoing.ContainsKey((target.Topic, target.Partition)))
            {
                allDone = false;
                text.Append(CultureInfo.InvariantCulture, $"Reassignment of partition {target.Name} is still in progress.\n");
            }
            else if (!current.TryGetValue((target.Topic, target.Partition), out var replicas))
            {
                allDone = false;
                text.Append(CultureInfo.InvariantCulture, $"Partition {target.Name} does not exist.\n");
            }
            else if (replicas.SequenceEqual(target.Replicas))
            {
                text.Append(CultureInfo.InvariantCulture, $"Reassignment of partition {target.Name} is completed.\n");
            }
            else
            {
                allDone = false;
                text.Append(CultureInfo.InvariantCulture,
                    $"There is no active reassignment of partition {target.Name}, but replica set is {string.Join(",", replicas)} rather than {string.Join(",", target.Replicas)}.\n");
            }
        }

        await output.WriteAsync(text.ToString()).ConfigureAwait(false);

        // As Kafka's tool does: once nothing of the plan is moving, the throttles (of any reassignment) are removed.
        if (!preserveThrottles && !plan.Any(p => ongoing.ContainsKey((p.Topic, p.Partition))))
        {
            var topics = plan.Select(p => p.Topic).Where(t => current.Keys.Any(k => k.Topic == t)).Distinct().Order(StringComparer.Ordinal).ToList();
            await ReassignmentThrottle.ClearAsync(client, topics, output, ct).ConfigureAwait(false);
        }

        return allDone ? 0 : 1;
    }

    private static async Task<int> CancelAsync(AdminClient client, List<PartitionTarget> plan, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var ongoing = await OngoingAsync(client, plan, ct).ConfigureAwait(false);
        var active = Sorted(plan).Where(p => ongoing.ContainsKey((p.Topic, p.Partition))).ToList();
        if (active.Count == 0)
        {
            await output.WriteLineAsync("None of the specified partition reassignments are active.").ConfigureAwait(false);
            return 0;
        }

        var failed = await AlterAsync(client, active, cancel: true, ct).ConfigureAwait(false);
        if (failed.Count > 0)
        {
            await error.WriteLineAsync("error: cancelling partition reassignment(s) failed:\n" + string.Join("\n", failed.Select(f => $"{f.Name}: {f.Error}")))
                .ConfigureAwait(false);
            return 1;
        }

        await output.WriteLineAsync($"Successfully cancelled partition reassignment{(active.Count == 1 ? "" : "s")} for: "
            + string.Join(",", active.Select(p => p.Name))).ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> ListAsync(AdminClient client, TextWriter output, CancellationToken ct)
    {
        var ongoing = await OngoingAsync(client, null, ct).ConfigureAwait(false);
        if (ongoing.Count == 0)
        {
            await output.WriteLineAsync("No partition reassignments found.").ConfigureAwait(false);
            return 0;
        }

        var text = new StringBuilder("Current partition reassignments:\n");
        foreach (var ((topic, partition), state) in ongoing.OrderBy(o => o.Key.Topic, StringComparer.Ordinal).ThenBy(o => o.Key.Partition))
        {
            text.Append(CultureInfo.InvariantCulture, $"{topic}-{partition}: replicas: {string.Join(",", state.Replicas)}.");
            text.Append(state.AddingReplicas.Count == 0 ? "" : $" adding: {string.Join(",", state.AddingReplicas)}.");
            text.Append(state.RemovingReplicas.Count == 0 ? "" : $" removing: {string.Join(",", state.RemovingReplicas)}.");
            text.Append('\n');
        }

        await output.WriteAsync(text.ToString()).ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> GenerateAsync(AdminClient client, List<string> topics, List<int> brokers, TextWriter output, CancellationToken ct)
    {
        var metadata = await client.MetadataAsync(topics, ct).ConfigureAwait(false);
        if (metadata.Topics.FirstOrDefault(t => t.ErrorCode != 0) is { } failed)
        {
            throw new AdminException($"topic {failed.Name}: {AdminClient.ErrorName(failed.ErrorCode)}");
        }

        if (brokers.FirstOrDefault(id => metadata.Brokers.All(b => b.NodeId != id), -1) is var unknown and >= 0)
        {
            throw new AdminException($"unknown broker id {unknown}.");
        }

        var current = CurrentAssignment(metadata).Select(c => new PartitionTarget(c.Key.Topic, c.Key.Partition, c.Value)).ToList();
        var proposed = new List<PartitionTarget>();
        var ordered = brokers.Order().ToList();
        var topicIndex = 0;
        foreach (var topic in topics.Order(StringComparer.Ordinal))
        {
            var partitions = current.Where(c => c.Topic == topic).OrderBy(c => c.Partition).ToList();
            var replicationFactor = partitions.Count == 0 ? 0 : partitions[0].Replicas.Count;
            if (replicationFactor > ordered.Count)
            {
                throw new AdminException($"topic {topic} has replication factor {replicationFactor}, more than the {ordered.Count} brokers of --broker-list.");
            }

            proposed.AddRange(partitions.Select(p => p with { Replicas = Spread(ordered, p.Partition, replicationFactor, topicIndex) }));
            topicIndex++;
        }

        await output.WriteAsync($"Current partition replica assignment\n{ReassignmentJson.Format(current)}\n\n"
            + $"Proposed partition reassignment configuration\n{ReassignmentJson.Format(proposed)}\n").ConfigureAwait(false);
        return 0;
    }

    /// <summary>
    /// Kafka's rack-unaware placement, with a start that depends on the topic's position instead of a random one (so a
    /// proposal is reproducible): leaders go round the brokers, and the followers' offset from the leader moves on
    /// after every full round so that no two brokers always follow each other.
    /// </summary>
    internal static List<int> Spread(IReadOnlyList<int> brokers, int partition, int replicationFactor, int start)
    {
        var count = brokers.Count;
        var first = (start + partition) % count;
        var shift = (start + (partition / count)) % Math.Max(1, count - 1);
        var replicas = new List<int>(replicationFactor) { brokers[first] };
        for (var j = 0; j < replicationFactor - 1; j++)
        {
            replicas.Add(brokers[(first + 1 + ((shift + j) % (count - 1))) % count]);
        }

        return replicas;
    }

    /// <summary>Sends the targets (or, cancelling, null replicas); returns the partitions that were refused, with why.</summary>
    private static async Task<List<(string Name, string Error)>> AlterAsync(AdminClient client, List<PartitionTarget> targets, bool cancel, CancellationToken ct)
    {
        var request = new AlterPartitionReassignmentsRequest { TimeoutMs = AdminClient.TimeoutMs };
        foreach (var group in targets.GroupBy(t => t.Topic, StringComparer.Ordinal))
        {
            request.Topics.Add(new AlterPartitionReassignmentsRequest.ReassignableTopic
            {
                Name = group.Key,
                Partitions = [.. group.Select(t => new AlterPartitionReassignmentsRequest.ReassignablePartition
                {
                    PartitionIndex = t.Partition,
                    Replicas = cancel ? null : [.. t.Replicas],
                })],
            });
        }

        var response = await client.SendAsync<AlterPartitionReassignmentsResponse>(request, 0, ct).ConfigureAwait(false);
        if (response.ErrorCode != 0)
        {
            throw new AdminException($"AlterPartitionReassignments: {AdminClient.ErrorText(response.ErrorCode, response.ErrorMessage)}");
        }

        return [.. response.Responses.SelectMany(t => t.Partitions.Where(p => p.ErrorCode != 0)
                .Select(p => ($"{t.Name}-{p.PartitionIndex.ToString(CultureInfo.InvariantCulture)}", AdminClient.ErrorText(p.ErrorCode, p.ErrorMessage))))
            .OrderBy(f => f.Item1, StringComparer.Ordinal)];
    }

    /// <summary>The ongoing reassignments, of <paramref name="plan"/>'s topics or (null) of all.</summary>
    private static async Task<Dictionary<(string Topic, int Partition), ListPartitionReassignmentsResponse.OngoingPartitionReassignment>> OngoingAsync(
        AdminClient client, List<PartitionTarget>? plan, CancellationToken ct)
    {
        var request = new ListPartitionReassignmentsRequest
        {
            TimeoutMs = AdminClient.TimeoutMs,
            Topics = plan is null ? null : [.. plan.GroupBy(p => p.Topic, StringComparer.Ordinal).Select(g =>
                new ListPartitionReassignmentsRequest.ListPartitionReassignmentsTopics { Name = g.Key, PartitionIndexes = [.. g.Select(p => p.Partition)] })],
        };
        var response = await client.SendAsync<ListPartitionReassignmentsResponse>(request, 0, ct).ConfigureAwait(false);
        if (response.ErrorCode != 0)
        {
            throw new AdminException($"ListPartitionReassignments: {AdminClient.ErrorText(response.ErrorCode, response.ErrorMessage)}");
        }

        var result = new Dictionary<(string, int), ListPartitionReassignmentsResponse.OngoingPartitionReassignment>();
        foreach (var topic in response.Topics)
        {
            foreach (var partition in topic.Partitions)
            {
                result[(topic.Name, partition.PartitionIndex)] = partition;
            }
        }

        return result;
    }

    private static Dictionary<(string Topic, int Partition), IReadOnlyList<int>> CurrentAssignment(MetadataResponse metadata)
    {
        var result = new Dictionary<(string, int), IReadOnlyList<int>>();
        foreach (var topic in metadata.Topics.Where(t => t.ErrorCode == 0))
        {
            foreach (var partition in topic.Partitions)
            {
                result[(topic.Name!, partition.PartitionIndex)] = [.. partition.ReplicaNodes];
            }
        }

        return result;
    }

    private static IEnumerable<PartitionTarget> Sorted(IEnumerable<PartitionTarget> targets) =>
        targets.OrderBy(t => t.Topic, StringComparer.Ordinal).ThenBy(t => t.Partition);
}

/// <summary>The one action a <c>reassign-partitions</c> invocation performs; None when zero or several were given.</summary>
internal enum ReassignAction
{
    None,
    Execute,
    Verify,
    Cancel,
    List,
    Generate,
}

/// <summary>The options of <c>kafka-broker reassign-partitions</c>. Immutable.</summary>
internal sealed record ReassignOptions(string? Bootstrap, ReassignAction Action, string? ReassignmentFile, bool Additional, string? TopicsFile,
    string? BrokerList)
{
    /// <summary>Bytes/s for the moving replicas; negative: no throttle.</summary>
    public long Throttle { get; init; } = -1;

    public bool PreserveThrottles { get; init; }
}
