using System.CommandLine;
using System.Globalization;
using System.Text;
using Broker.Cluster.Controller;
using Broker.Cluster.Metadata;
using Broker.Protocol.Messages;

namespace Broker.Cli;

/// <summary>
/// <c>kafka-broker configs</c>, in the shape of Kafka's <c>kafka-configs.sh</c> for brokers and topics: <c>--describe</c>
/// (DescribeConfigs with synonyms; the dynamic configs, or every config with <c>--all</c>) and <c>--alter</c> with
/// <c>--add-config</c>/<c>--delete-config</c> (IncrementalAlterConfigs). A broker's own resource goes to that broker, the
/// cluster default (<c>--entity-default</c>) and topics to any broker. Stateless; thread-safe.
/// </summary>
internal static class ConfigsCommand
{

    public static Command Create()
    {
        var bootstrap = new Option<string?>("--bootstrap-server") { Description = "Broker endpoints, host:port,...", HelpName = "host:port" };
        var describe = new Option<bool>("--describe") { Description = "List the configs of the entity." };
        var alter = new Option<bool>("--alter") { Description = "Change the configs of the entity (with --add-config and/or --delete-config)." };
        var all = new Option<bool>("--all") { Description = "--describe: every config, static and default ones too, not only dynamic ones." };
        var entityType = new Option<string?>("--entity-type") { Description = "brokers or topics.", HelpName = "type" };
        var entityName = new Option<string?>("--entity-name") { Description = "The broker id or topic name (all of them when omitted in --describe).", HelpName = "name" };
        var entityDefault = new Option<bool>("--entity-default") { Description = "brokers: the cluster-wide default instead of one broker." };

        // Kafka's shorthands: --broker 1 is --entity-type brokers --entity-name 1, and so on.
        var broker = new Option<string?>("--broker") { Description = "Shorthand of --entity-type brokers --entity-name <id>.", HelpName = "id" };
        var brokerDefaults = new Option<bool>("--broker-defaults") { Description = "Shorthand of --entity-type brokers --entity-default." };
        var topic = new Option<string?>("--topic") { Description = "Shorthand of --entity-type topics --entity-name <topic>.", HelpName = "name" };
        var addConfig = new Option<string?>("--add-config")
        {
            Description = "--alter: configs to set, k1=v1,k2=[v1,v2] (brackets around a value with commas).",
            HelpName = "k=v,...",
        };
        var deleteConfig = new Option<string?>("--delete-config") { Description = "--alter: configs to remove, k1,k2.", HelpName = "k,..." };
        var command = new Command("configs", "Describe and change broker and topic configs, like Kafka's kafka-configs tool.");
        foreach (var option in new Option[] { bootstrap, describe, alter, all, entityType, entityName, entityDefault, broker, brokerDefaults, topic, addConfig, deleteConfig })
        {
            command.Options.Add(option);
        }

        command.SetAction((result, ct) =>
        {
            var (type, name, isDefault) = (result.GetValue(entityType), result.GetValue(entityName), result.GetValue(entityDefault));
            if (result.GetValue(broker) is { } id)
            {
                (type, name) = (type ?? "brokers", name ?? id);
            }
            else if (result.GetValue(brokerDefaults))
            {
                (type, isDefault) = (type ?? "brokers", true);
            }
            else if (result.GetValue(topic) is { } topicName)
            {
                (type, name) = (type ?? "topics", name ?? topicName);
            }

            return RunAsync(new ConfigsOptions(result.GetValue(bootstrap), result.GetValue(describe), result.GetValue(alter), result.GetValue(all), type, name,
                isDefault, result.GetValue(addConfig), result.GetValue(deleteConfig)), result.InvocationConfiguration.Output, result.InvocationConfiguration.Error, ct);
        });
        return command;
    }

    /// <summary>0 on success, 1 when the cluster refused or did not answer, 2 on bad arguments.</summary>
    internal static async Task<int> RunAsync(ConfigsOptions options, TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (Validate(options) is { } problem)
        {
            await error.WriteLineAsync($"error: {problem}").ConfigureAwait(false);
            return CliApplication.ConfigErrorExitCode;
        }

        Dictionary<string, string> added;
        try
        {
            added = ParseAddConfig(options.AddConfig);
        }
        catch (FormatException e)
        {
            await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return CliApplication.ConfigErrorExitCode;
        }

        var deleted = (options.DeleteConfig ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        await using var client = AdminClient.TryCreate(options.Bootstrap, "configs", error);
        if (client is null)
        {
            return CliApplication.ConfigErrorExitCode;
        }

        try
        {
            return options.Describe
                ? await DescribeAsync(client, options, output, ct).ConfigureAwait(false)
                : await AlterAsync(client, options, added, deleted, output, error, ct).ConfigureAwait(false);
        }
        catch (AdminException e)
        {
            await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static string? Validate(ConfigsOptions options)
    {
        if (options.Describe == options.Alter)
        {
            return "give exactly one of --describe and --alter.";
        }

        if (options.EntityType is not ("brokers" or "topics"))
        {
            return $"--entity-type must be brokers or topics{(options.EntityType is null ? "" : $", not '{options.EntityType}'")}.";
        }

        if (options.EntityDefault && (options.EntityType != "brokers" || options.EntityName is not null))
        {
            return "--entity-default applies to --entity-type brokers, instead of --entity-name.";
        }

        if (options.EntityType == "brokers" && options.EntityName is { } id && !int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            return $"the entity name of brokers is a broker id (an integer), not '{id}'.";
        }

        if (options.Alter && options.EntityName is null && !options.EntityDefault)
        {
            return "--alter needs --entity-name (or --entity-default for brokers).";
        }

        if (options.Alter && string.IsNullOrWhiteSpace(options.AddConfig) && string.IsNullOrWhiteSpace(options.DeleteConfig))
        {
            return "--alter needs --add-config and/or --delete-config.";
        }

        return options.Describe && (options.AddConfig is not null || options.DeleteConfig is not null)
            ? "--add-config and --delete-config go with --alter."
            : null;
    }

    /// <summary>k1=v1,k2=[a,b]: commas inside brackets belong to the value, and the brackets are dropped.</summary>
    internal static Dictionary<string, string> ParseAddConfig(string? text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(text))
        {
            return result;
        }

        var items = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i == text.Length || (text[i] == ',' && depth == 0))
            {
                items.Add(text[start..i]);
                start = i + 1;
            }
            else if (text[i] == '[')
            {
                depth++;
            }
            else if (text[i] == ']')
            {
                depth = Math.Max(0, depth - 1);
            }
        }

        foreach (var item in items.Where(i => i.Trim().Length > 0))
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || item[..eq].Trim().Length == 0)
            {
                throw new FormatException($"--add-config item '{item}' is not key=value.");
            }

            var value = item[(eq + 1)..].Trim();
            result[item[..eq].Trim()] = value.StartsWith('[') && value.EndsWith(']') ? value[1..^1] : value;
        }

        return result;
    }

    private static async Task<int> DescribeAsync(AdminClient client, ConfigsOptions options, TextWriter output, CancellationToken ct)
    {
        var entities = new List<string>();
        if (options.EntityDefault)
        {
            entities.Add("");
        }
        else if (options.EntityName is { } name)
        {
            entities.Add(name);
        }
        else
        {
            var metadata = await client.MetadataAsync(options.EntityType == "topics" ? null : [], ct).ConfigureAwait(false);
            entities.AddRange(options.EntityType == "topics"
                ? metadata.Topics.Where(t => t.ErrorCode == 0).Select(t => t.Name!).Order(StringComparer.Ordinal)
                : [.. metadata.Brokers.Select(b => b.NodeId).Order().Select(b => b.ToString(CultureInfo.InvariantCulture)), ""]);
        }

        var text = new StringBuilder();
        foreach (var entity in entities)
        {
            var result = await DescribeEntityAsync(client, options.EntityType!, entity, ct).ConfigureAwait(false);

            // The source a dynamic config of this entity has: a topic override, a per-broker or a cluster-default broker config.
            var dynamicSource = options.EntityType == "topics" ? 1 : entity.Length == 0 ? 3 : 2;
            text.Append(entity.Length == 0 ? "Default configs for brokers in the cluster are:\n"
                : $"{(options.All ? "All" : "Dynamic")} configs for {options.EntityType![..^1]} {entity} are:\n");
            foreach (var config in result.Configs.Where(c => options.All || c.ConfigSource == dynamicSource).OrderBy(c => c.Name, StringComparer.Ordinal))
            {
                var synonyms = string.Join(", ", config.Synonyms.Select(s => $"{SourceName(s.Source)}:{s.Name}={s.Value ?? "null"}"));
                text.Append(CultureInfo.InvariantCulture,
                    $"  {config.Name}={config.Value ?? "null"} sensitive={(config.IsSensitive ? "true" : "false")} synonyms={{{synonyms}}}\n");
            }
        }

        await output.WriteAsync(text.ToString()).ConfigureAwait(false);
        return 0;
    }

    private static async Task<DescribeConfigsResponse.DescribeConfigsResult> DescribeEntityAsync(AdminClient client, string entityType, string entity,
        CancellationToken ct)
    {
        var request = new DescribeConfigsRequest
        {
            IncludeSynonyms = true,
            Resources =
            [
                new DescribeConfigsRequest.DescribeConfigsResource
                {
                    ResourceType = entityType == "topics" ? MetadataImageBuilder.TopicResource : MetadataImageBuilder.BrokerResource,
                    ResourceName = entity,
                    ConfigurationKeys = null,
                },
            ],
        };
        var response = entityType == "brokers" && entity.Length > 0
            ? await client.SendToBrokerAsync<DescribeConfigsResponse>(int.Parse(entity, CultureInfo.InvariantCulture), request, 4, ct).ConfigureAwait(false)
            : await client.SendAsync<DescribeConfigsResponse>(request, 4, ct).ConfigureAwait(false);
        var result = response.Results.FirstOrDefault() ?? throw new AdminException("DescribeConfigs answered without the resource.");
        if (result.ErrorCode != 0)
        {
            throw new AdminException($"cannot describe {EntityText(entityType, entity)}: {AdminClient.ErrorText(result.ErrorCode, result.ErrorMessage)}");
        }

        return result;
    }

    private static async Task<int> AlterAsync(AdminClient client, ConfigsOptions options, Dictionary<string, string> added, string[] deleted,
        TextWriter output, TextWriter error, CancellationToken ct)
    {
        var entity = options.EntityDefault ? "" : options.EntityName!;

        // As Kafka's tool does: deleting a config that is not set is an error, checked before anything changes.
        if (deleted.Length > 0)
        {
            var current = await DescribeEntityAsync(client, options.EntityType!, entity, ct).ConfigureAwait(false);
            var dynamicSource = options.EntityType == "topics" ? 1 : entity.Length == 0 ? 3 : 2;
            var missing = deleted.Where(k => !current.Configs.Any(c => c.Name == k && c.ConfigSource == dynamicSource)).ToList();
            if (missing.Count > 0)
            {
                await error.WriteLineAsync($"error: invalid config(s) to delete, not set on {EntityText(options.EntityType!, entity)}: {string.Join(",", missing)}")
                    .ConfigureAwait(false);
                return 1;
            }
        }

        var resource = new IncrementalAlterConfigsRequest.AlterConfigsResource
        {
            ResourceType = options.EntityType == "topics" ? MetadataImageBuilder.TopicResource : MetadataImageBuilder.BrokerResource,
            ResourceName = entity,
        };
        foreach (var (key, value) in added)
        {
            resource.Configs.Add(new IncrementalAlterConfigsRequest.AlterableConfig { Name = key, ConfigOperation = (sbyte)ConfigOperation.Set, Value = value });
        }

        foreach (var key in deleted)
        {
            resource.Configs.Add(new IncrementalAlterConfigsRequest.AlterableConfig { Name = key, ConfigOperation = (sbyte)ConfigOperation.Delete, Value = null });
        }

        var request = new IncrementalAlterConfigsRequest { ValidateOnly = false, Resources = [resource] };
        var response = options.EntityType == "brokers" && entity.Length > 0
            ? await client.SendToBrokerAsync<IncrementalAlterConfigsResponse>(int.Parse(entity, CultureInfo.InvariantCulture), request, 1, ct).ConfigureAwait(false)
            : await client.SendAsync<IncrementalAlterConfigsResponse>(request, 1, ct).ConfigureAwait(false);
        var result = response.Responses.FirstOrDefault() ?? throw new AdminException("IncrementalAlterConfigs answered without the resource.");
        if (result.ErrorCode != 0)
        {
            await error.WriteLineAsync($"error: cannot alter {EntityText(options.EntityType!, entity)}: {AdminClient.ErrorText(result.ErrorCode, result.ErrorMessage)}")
                .ConfigureAwait(false);
            return 1;
        }

        await output.WriteLineAsync(entity.Length == 0 ? "Completed updating default config for brokers in the cluster."
            : $"Completed updating config for {options.EntityType![..^1]} {entity}.").ConfigureAwait(false);
        return 0;
    }

    private static string EntityText(string entityType, string entity) =>
        entity.Length == 0 ? "the brokers' cluster default" : $"{entityType[..^1]} {entity}";

    /// <summary>Kafka's names of the DescribeConfigs config sources.</summary>
    private static string SourceName(sbyte source) => source switch
    {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        7 => "CLIENT_METRICS_CONFIG",
        8 => "GROUP_CONFIG",
        _ => "UNKNOWN",
    };
}

/// <summary>The options of <c>kafka-broker configs</c>. Immutable.</summary>
internal sealed record ConfigsOptions(string? Bootstrap, bool Describe, bool Alter, bool All, string? EntityType, string? EntityName, bool EntityDefault,
    string? AddConfig, string? DeleteConfig);
