using System.CommandLine;
using System.Globalization;
using System.Text;
using Broker.Cluster.Metadata;
using Broker.Protocol.Messages;
using Broker.Storage;

namespace Broker.Cli;

/// <summary>
/// <c>kafka-broker topics</c>, in the shape of Kafka's <c>kafka-topics.sh</c>: exactly one of <c>--create</c> (CreateTopics),
/// <c>--alter --partitions</c> (CreatePartitions), <c>--delete</c> (DeleteTopics), <c>--list</c> and <c>--describe</c>
/// (Metadata, with the topics' non-default configs from DescribeConfigs). Stateless; thread-safe.
/// </summary>
internal static class TopicsCommand
{
    private const sbyte DefaultConfigSource = 5;

    public static Command Create()
    {
        var bootstrap = new Option<string?>("--bootstrap-server") { Description = "Broker endpoints, host:port,...", HelpName = "host:port" };
        var create = new Option<bool>("--create") { Description = "Create a topic." };
        var alter = new Option<bool>("--alter") { Description = "Raise a topic's partition count to --partitions." };
        var delete = new Option<bool>("--delete") { Description = "Delete a topic." };
        var ifExists = new Option<bool>("--if-exists") { Description = "--alter, --delete: do nothing when the topic does not exist." };
        var ifNotExists = new Option<bool>("--if-not-exists") { Description = "--create: do nothing when the topic exists." };
        var list = new Option<bool>("--list") { Description = "List the topics." };
        var describe = new Option<bool>("--describe") { Description = "Describe the topics (or the one given by --topic)." };
        var topic = new Option<string?>("--topic") { Description = "The topic.", HelpName = "name" };
        var partitions = new Option<int?>("--partitions") { Description = "--create: the number of partitions (default num.partitions); --alter: the new, higher count.", HelpName = "count" };
        var replication = new Option<short?>("--replication-factor")
        {
            Description = "--create: the number of replicas of each partition (default default.replication.factor).",
            HelpName = "count",
        };
        var config = new Option<string[]>("--config")
        {
            Description = "--create: a topic config override, key=value (repeatable).",
            HelpName = "key=value",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("topics", "Create, delete, list and describe topics, like Kafka's kafka-topics tool.");
        foreach (var option in new Option[] { bootstrap, create, alter, delete, list, describe, topic, partitions, replication, config, ifExists, ifNotExists })
        {
            command.Options.Add(option);
        }

        command.SetAction((result, ct) =>
        {
            var actions = new[]
            {
                (result.GetValue(create), TopicsAction.Create), (result.GetValue(alter), TopicsAction.Alter), (result.GetValue(delete), TopicsAction.Delete),
                (result.GetValue(list), TopicsAction.List), (result.GetValue(describe), TopicsAction.Describe),
            }.Where(a => a.Item1).ToList();
            var options = new TopicsOptions(result.GetValue(bootstrap), result.GetValue(topic), result.GetValue(partitions), result.GetValue(replication),
                result.GetValue(config) ?? [])
            {
                IfExists = result.GetValue(ifExists),
                IfNotExists = result.GetValue(ifNotExists),
            };
            var action = actions.Count == 1 ? actions[0].Item2 : TopicsAction.None;
            return RunAsync(action, options, result.InvocationConfiguration.Output, result.InvocationConfiguration.Error, ct);
        });
        return command;
    }

    /// <summary>0 on success, 1 when the cluster refused or did not answer, 2 on bad arguments.</summary>
    internal static async Task<int> RunAsync(TopicsAction action, TopicsOptions options, TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (action == TopicsAction.None)
        {
            await error.WriteLineAsync("error: give exactly one of --create, --alter, --delete, --list and --describe.").ConfigureAwait(false);
            return CliApplication.ConfigErrorExitCode;
        }

        if (action is TopicsAction.Create or TopicsAction.Alter or TopicsAction.Delete && string.IsNullOrEmpty(options.Topic))
        {
            await error.WriteLineAsync($"error: --{action.ToString().ToLowerInvariant()} needs --topic.").ConfigureAwait(false);
            return CliApplication.ConfigErrorExitCode;
        }

        if (action == TopicsAction.Alter && options.Partitions is null)
        {
            await error.WriteLineAsync("error: --alter needs --partitions (the new partition count).").ConfigureAwait(false);
            return CliApplication.ConfigErrorExitCode;
        }

        Dictionary<string, string> configs;
        try
        {
            configs = KeyValueArguments.Parse(options.Configs, "--config");
        }
        catch (FormatException e)
        {
            await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return CliApplication.ConfigErrorExitCode;
        }

        await using var client = AdminClient.TryCreate(options.Bootstrap, "topics", error);
        if (client is null)
        {
            return CliApplication.ConfigErrorExitCode;
        }

        try
        {
            return action switch
            {
                TopicsAction.Create => await CreateTopicAsync(client, options, configs, output, error, ct).ConfigureAwait(false),
                TopicsAction.Alter => await AlterTopicAsync(client, options, error, ct).ConfigureAwait(false),
                TopicsAction.Delete => await DeleteTopicAsync(client, options, error, ct).ConfigureAwait(false),
                TopicsAction.List => await ListAsync(client, output, ct).ConfigureAwait(false),
                _ => await DescribeAsync(client, options.Topic, output, error, ct).ConfigureAwait(false),
            };
        }
        catch (AdminException e)
        {
            await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static async Task<int> CreateTopicAsync(AdminClient client, TopicsOptions options, Dictionary<string, string> configs, TextWriter output,
        TextWriter error, CancellationToken ct)
    {
        var topic = new CreateTopicsRequest.CreatableTopic
        {
            Name = options.Topic!,
            NumPartitions = options.Partitions ?? -1,
            ReplicationFactor = options.ReplicationFactor ?? -1,
        };
        foreach (var (key, value) in configs)
        {
            topic.Configs.Add(new CreateTopicsRequest.CreatableTopicConfig { Name = key, Value = value });
        }

        var response = await client.SendAsync<CreateTopicsResponse>(new CreateTopicsRequest { TimeoutMs = AdminClient.TimeoutMs, Topics = [topic] }, 7, ct)
            .ConfigureAwait(false);
        var result = response.Topics.FirstOrDefault(t => t.Name == options.Topic) ?? throw new AdminException("CreateTopics answered without the topic.");
        if (result.ErrorCode == (short)Protocol.ErrorCode.TopicAlreadyExists && options.IfNotExists)
        {
            return 0;
        }

        if (result.ErrorCode != 0)
        {
            await error.WriteLineAsync($"error: cannot create topic {options.Topic}: {AdminClient.ErrorText(result.ErrorCode, result.ErrorMessage)}")
                .ConfigureAwait(false);
            return 1;
        }

        await output.WriteLineAsync($"Created topic {options.Topic}.").ConfigureAwait(false);
        return 0;
    }

    private static async Task<int> AlterTopicAsync(AdminClient client, TopicsOptions options, TextWriter error, CancellationToken ct)
    {
        var response = await client.SendAsync<CreatePartitionsResponse>(new CreatePartitionsRequest
        {
            TimeoutMs = AdminClient.TimeoutMs,
            Topics = [new CreatePartitionsRequest.CreatePartitionsTopic { Name = options.Topic!, Count = options.Partitions!.Value, Assignments = null }],
        }, 3, ct).ConfigureAwait(false);
        var result = response.Results.FirstOrDefault() ?? throw new AdminException("CreatePartitions answered without the topic.");
        if (result.ErrorCode == (short)Protocol.ErrorCode.UnknownTopicOrPartition && options.IfExists)
        {
            return 0;
        }

        if (result.ErrorCode != 0)
        {
            await error.WriteLineAsync($"error: cannot alter topic {options.Topic}: {AdminClient.ErrorText(result.ErrorCode, result.ErrorMessage)}")
                .ConfigureAwait(false);
            return 1;
        }

        return 0;
    }

    private static async Task<int> DeleteTopicAsync(AdminClient client, TopicsOptions options, TextWriter error, CancellationToken ct)
    {
        var name = options.Topic!;
        var response = await client.SendAsync<DeleteTopicsResponse>(new DeleteTopicsRequest
        {
            TimeoutMs = AdminClient.TimeoutMs,
            Topics = [new DeleteTopicsRequest.DeleteTopicState { Name = name }],
        }, 6, ct).ConfigureAwait(false);
        var result = response.Responses.FirstOrDefault() ?? throw new AdminException("DeleteTopics answered without the topic.");
        if (result.ErrorCode == (short)Protocol.ErrorCode.UnknownTopicOrPartition && options.IfExists)
        {
            return 0;
        }

        if (result.ErrorCode != 0)
        {
            await error.WriteLineAsync($"error: cannot delete topic {name}: {AdminClient.ErrorText(result.ErrorCode, result.ErrorMessage)}").ConfigureAwait(false);
            return 1;
        }

        return 0;
    }

    private static async Task<int> ListAsync(AdminClient client, TextWriter output, CancellationToken ct)
    {
        var metadata = await client.MetadataAsync(null, ct).ConfigureAwait(false);
        foreach (var name in metadata.Topics.Where(t => t.ErrorCode == 0).Select(t => t.Name!).Order(StringComparer.Ordinal))
        {
            await output.WriteLineAsync(name).ConfigureAwait(false);
        }

        return 0;
    }

    private static async Task<int> DescribeAsync(AdminClient client, string? name, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var metadata = await client.MetadataAsync(name is null ? null : [name], ct).ConfigureAwait(false);
        var topics = metadata.Topics.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        if (topics.FirstOrDefault(t => t.ErrorCode != 0) is { } failed)
        {
            var reason = failed.ErrorCode == (short)Protocol.ErrorCode.UnknownTopicOrPartition ? "does not exist" : AdminClient.ErrorName(failed.ErrorCode);
            await error.WriteLineAsync($"error: topic '{failed.Name}' {reason}.").ConfigureAwait(false);
            return 1;
        }

        var configs = await TopicConfigsAsync(client, topics.Select(t => t.Name!).ToList(), ct).ConfigureAwait(false);
        var moving = await ReassignmentsAsync(client, name, ct).ConfigureAwait(false);
        var text = new StringBuilder();
        foreach (var topic in topics)
        {
            var partitions = topic.Partitions.OrderBy(p => p.PartitionIndex).ToList();

            // During a reassignment the replica list holds the targets and the old replicas: the factor is what remains once the adding ones are subtracted.
            var replicationFactor = partitions.Count == 0 ? 0
                : partitions[0].ReplicaNodes.Count - (moving.TryGetValue((topic.Name!, partitions[0].PartitionIndex), out var first) ? first.AddingReplicas.Count : 0);
            text.Append(CultureInfo.InvariantCulture, $"Topic: {topic.Name}\tTopicId: {LogDirFormat.FormatUuid(topic.TopicId)}\tPartitionCount: {partitions.Count}")
                .Append(CultureInfo.InvariantCulture, $"\tReplicationFactor: {replicationFactor}\tConfigs: {configs.GetValueOrDefault(topic.Name!, "")}\n");
            foreach (var partition in partitions)
            {
                var leader = partition.LeaderId < 0 ? "none" : partition.LeaderId.ToString(CultureInfo.InvariantCulture);
                text.Append(CultureInfo.InvariantCulture, $"\tTopic: {topic.Name}\tPartition: {partition.PartitionIndex}\tLeader: {leader}")
                    .Append(CultureInfo.InvariantCulture, $"\tReplicas: {string.Join(',', partition.ReplicaNodes)}\tIsr: {string.Join(',', partition.IsrNodes)}");
                if (moving.TryGetValue((topic.Name!, partition.PartitionIndex), out var reassignment))
                {
                    text.Append(CultureInfo.InvariantCulture, $"\tAdding Replicas: {string.Join(',', reassignment.AddingReplicas)}")
                        .Append(CultureInfo.InvariantCulture, $"\tRemoving Replicas: {string.Join(',', reassignment.RemovingReplicas)}");
                }

                text.Append("\tElr: \tLastKnownElr: ");
                if (partition.OfflineReplicas.Count > 0)
                {
                    text.Append(CultureInfo.InvariantCulture, $"\tOffline: {string.Join(',', partition.OfflineReplicas)}");
                }

                text.Append('\n');
            }
        }

        await output.WriteAsync(text.ToString()).ConfigureAwait(false);
        return 0;
    }

    /// <summary>The ongoing reassignments of <paramref name="topic"/> (null: of every topic); none when the cluster cannot list them.</summary>
    private static async Task<Dictionary<(string Topic, int Partition), ListPartitionReassignmentsResponse.OngoingPartitionReassignment>> ReassignmentsAsync(
        AdminClient client, string? topic, CancellationToken ct)
    {
        var request = new ListPartitionReassignmentsRequest { TimeoutMs = AdminClient.TimeoutMs, Topics = null };
        var response = await client.SendAsync<ListPartitionReassignmentsResponse>(request, 0, ct).ConfigureAwait(false);
        var result = new Dictionary<(string, int), ListPartitionReassignmentsResponse.OngoingPartitionReassignment>();
        foreach (var listed in response.ErrorCode == 0 ? response.Topics.Where(t => topic is null || t.Name == topic) : [])
        {
            foreach (var partition in listed.Partitions)
            {
                result[(listed.Name, partition.PartitionIndex)] = partition;
            }
        }

        return result;
    }

    /// <summary>Each topic's configs that are not defaults, as Kafka's tool prints them: k=v,k2=v2.</summary>
    private static async Task<Dictionary<string, string>> TopicConfigsAsync(AdminClient client, List<string> topics, CancellationToken ct)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (topics.Count == 0)
        {
            return result;
        }

        var request = new DescribeConfigsRequest { IncludeSynonyms = false };
        foreach (var topic in topics)
        {
            request.Resources.Add(new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = MetadataImageBuilder.TopicResource, ResourceName = topic, ConfigurationKeys = null });
        }

        var response = await client.SendAsync<DescribeConfigsResponse>(request, 4, ct).ConfigureAwait(false);
        foreach (var described in response.Results.Where(r => r.ErrorCode == 0))
        {
            result[described.ResourceName] = string.Join(',', described.Configs.Where(c => c.ConfigSource != DefaultConfigSource)
                .OrderBy(c => c.Name, StringComparer.Ordinal).Select(c => $"{c.Name}={(c.IsSensitive ? "null" : c.Value ?? "null")}"));
        }

        return result;
    }
}

/// <summary>The one action a <c>topics</c> invocation performs; None when zero or several were given.</summary>
internal enum TopicsAction
{
    None,
    Create,
    Alter,
    Delete,
    List,
    Describe,
}

/// <summary>The options of <c>kafka-broker topics</c>. Immutable.</summary>
internal sealed record TopicsOptions(string? Bootstrap, string? Topic, int? Partitions, short? ReplicationFactor, IReadOnlyList<string> Configs)
{
    public bool IfExists { get; init; }

    public bool IfNotExists { get; init; }
}
