using System.Collections.Immutable;
using System.Globalization;
using Broker.Cluster.Metadata;
using Broker.Protocol;
using Broker.Protocol.Messages;
using Broker.Protocol.Metadata;

namespace Broker.Cluster.Controller;

/// <summary>IncrementalAlterConfigs operations, with Kafka's wire ids (AlterConfigOp.OpType).</summary>
public enum ConfigOperation : sbyte
{
    Set = 0,
    Delete = 1,
    Append = 2,
    Subtract = 3,
}

/// <summary>One change of an IncrementalAlterConfigs resource.</summary>
public sealed record ConfigChange(string Name, ConfigOperation Operation, string? Value);

/// <summary>
/// One resource to alter: <see cref="Changes"/> for IncrementalAlterConfigs, or, when <see cref="Replacement"/>
/// is set (AlterConfigs), the complete new set of dynamic configs.
/// </summary>
public sealed record ConfigResourceChange(
    sbyte ResourceType,
    string ResourceName,
    IReadOnlyList<ConfigChange> Changes,
    IReadOnlyList<KeyValuePair<string, string?>>? Replacement = null);

/// <summary>The outcome for one resource of an alter call.</summary>
public sealed record ConfigResult(sbyte ResourceType, string ResourceName, ErrorCode Error, string? Message);

/// <summary>A validation failure: the wire error and a message naming the key.</summary>
public readonly record struct ConfigError(ErrorCode Error, string Message);

/// <summary>
/// What the controller needs to know about config keys, supplied by the server layer (which owns the key
/// tables). Implementations are thread-safe.
/// </summary>
public interface IConfigSchema
{
    /// <summary>True when the key is list-typed for the resource type, so APPEND and SUBTRACT apply.</summary>
    bool IsList(sbyte resourceType, string key);

    /// <summary>The value a list key has when no dynamic value is set (the base of APPEND/SUBTRACT).</summary>
    string? DefaultValue(sbyte resourceType, string key, MetadataImage image);

    /// <summary>
    /// Checks the complete set of dynamic configs a resource would hold after the change; null when valid.
    /// Broker resources are checked with the rest of the image (cluster defaults under a per-broker set).
    /// </summary>
    ConfigError? Validate(sbyte resourceType, string resourceName, IReadOnlyDictionary<string, string> configs, MetadataImage image);
}

/// <summary>
/// Controller-side AlterConfigs and IncrementalAlterConfigs for TOPIC and BROKER resources, like Kafka's
/// ConfigurationControlManager: each resource is checked on its own (a bad resource does not stop the others),
/// its resulting dynamic configs are validated as a whole, and its changes are committed as ConfigRecords
/// (value null = delete), so a resource is altered completely or not at all. validateOnly commits nothing.
/// Thread-safe: alterations are serialised.
/// </summary>
public sealed class ConfigController
{
    private readonly IMetadataStore _store;
    private readonly IConfigSchema _schema;
    private readonly int _nodeId;
    private readonly SemaphoreSlim _mutex = new(1, 1);

    public ConfigController(IMetadataStore store, IConfigSchema schema, int nodeId)
    {
        _store = store;
        _schema = schema;
        _nodeId = nodeId;
    }

    /// <summary>
    /// Applies the changes of every resource that validates; returns one result per resource, in order. A broker that
    /// took the request from a client on its own listener passes <paramref name="clientFacing"/>: a per-broker resource
    /// must then name this node, as Kafka's brokers check before forwarding; the controller itself (a forwarded request,
    /// or Admin's bootstrap.controllers) takes any broker id.
    /// </summary>
    public async Task<IReadOnlyList<ConfigResult>> AlterAsync(
        IReadOnlyList<ConfigResourceChange> resources, bool validateOnly, CancellationToken cancellationToken, bool clientFacing = true)
    {
        await _mutex.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var image = _store.Image;
            var counts = new Dictionary<(sbyte, string), int>();
            foreach (var resource in resources)
            {
                var id = (resource.ResourceType, resource.ResourceName);
                counts[id] = counts.GetValueOrDefault(id) + 1;
            }

            var results = new List<ConfigResult>(resources.Count);
            var records = new List<IApiMessage>();
            foreach (var resource in resources)
            {
                ConfigError? error = counts[(resource.ResourceType, resource.ResourceName)] > 1
                    ? new ConfigError(ErrorCode.InvalidRequest, "Each resource may appear at most once in a request.")
                    : Plan(image, resource, validateOnly ? null : records, clientFacing);
                results.Add(error is { } e
                    ? new ConfigResult(resource.ResourceType, resource.ResourceName, e.Error, e.Message)
                    : new ConfigResult(resource.ResourceType, resource.ResourceName, ErrorCode.None, null));
            }

            if (records.Count > 0)
            {
                await _store.CommitAsync(records, cancellationToken).ConfigureAwait(false);
            }

            return results;
        }
        finally
        {
            _mutex.Release();
        }
    }

    /// <summary>
    /// Kafka's check of a BROKER resource on the broker a client sent the alteration to (ConfigAdminManager.preprocess):
    /// empty (cluster-wide) or this node's id; null when it passes.
    /// </summary>
    public static ConfigError? CheckBrokerResourceNamesNode(string resourceName, int nodeId)
    {
        if (resourceName.Length == 0)
        {
            return null;
        }

        if (!int.TryParse(resourceName, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id))
        {
            return new ConfigError(ErrorCode.InvalidRequest, $"Node id must be an integer, but it is: {resourceName}");
        }

        return id == nodeId ? null : new ConfigError(ErrorCode.InvalidRequest, $"Unexpected broker id, expected {nodeId}, but received {resourceName}");
    }

    private ConfigError? Plan(MetadataImage image, ConfigResourceChange resource, List<IApiMessage>? records, bool clientFacing)
    {
        ImmutableDictionary<string, string> current;
        switch (resource.ResourceType)
        {
            case MetadataImageBuilder.TopicResource:
                if (!image.TopicsByName.TryGetValue(resource.ResourceName, out var topic))
                {
                    return new ConfigError(ErrorCode.UnknownTopicOrPartition, $"Topic {resource.ResourceName} does not exist.");
                }

                current = topic.Configs;
                break;
            case MetadataImageBuilder.BrokerResource:
                if (clientFacing && CheckBrokerResourceNamesNode(resource.ResourceName, _nodeId) is { } notThisNode)
                {
                    return notThisNode;
                }

                if (resource.ResourceName.Length > 0 && !int.TryParse(resource.ResourceName, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    return new ConfigError(ErrorCode.InvalidRequest, "Unable to parse broker name as a base 10 number.");
                }

                current = image.BrokerConfigsFor(resource.ResourceName);
                break;
            case BrokerLoggerResource:
                return new ConfigError(ErrorCode.InvalidRequest, "BROKER_LOGGER resources are not supported by this broker.");
            default:
                return new ConfigError(ErrorCode.InvalidRequest, $"Unsupported resource type {resource.ResourceType} for altering configs.");
        }

        var next = new Dictionary<string, string>(current, StringComparer.Ordinal);
        if ((resource.Replacement is { } replacement ? Replace(next, replacement) : Apply(image, resource, next)) is { } changeError)
        {
            return changeError;
        }

        if (_schema.Validate(resource.ResourceType, resource.ResourceName, next, image) is { } invalid)
        {
            return invalid;
        }

        records?.AddRange(Diff(resource, current, next));
        return null;
    }

    private static ConfigError? Replace(Dictionary<string, string> next, IReadOnlyList<KeyValuePair<string, string?>> replacement)
    {
        next.Clear();
        foreach (var (name, value) in replacement)
        {
            if (next.ContainsKey(name))
            {
                return new ConfigError(ErrorCode.InvalidRequest, $"Error due to duplicate config keys: {name}");
            }

            if (value is null)
            {
                return new ConfigError(ErrorCode.InvalidRequest, $"Null value not supported for : {name}");
            }

            next[name] = value;
        }

        return null;
    }

    private ConfigError? Apply(MetadataImage image, ConfigResourceChange resource, Dictionary<string, string> next)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var change in resource.Changes)
        {
            if (!seen.Add(change.Name))
            {
                return new ConfigError(ErrorCode.InvalidRequest, $"Error due to duplicate config keys: {change.Name}");
            }

            switch (change.Operation)
            {
                case ConfigOperation.Set:
                    if (change.Value is null)
                    {
                        return new ConfigError(ErrorCode.InvalidRequest, $"Null value not supported for : {change.Name}");
                    }

                    next[change.Name] = change.Value;
                    break;
                case ConfigOperation.Delete:
                    next.Remove(change.Name);
                    break;
                case ConfigOperation.Append:
                case ConfigOperation.Subtract:
                    if (!_schema.IsList(resource.ResourceType, change.Name))
                    {
                        return new ConfigError(ErrorCode.InvalidConfig,
                            $"Can't {(change.Operation == ConfigOperation.Append ? "APPEND" : "SUBTRACT")} to key {change.Name} because its type is not LIST.");
                    }

                    var baseValue = next.TryGetValue(change.Name, out var existing) ? existing : _schema.DefaultValue(resource.ResourceType, change.Name, image);
                    var items = Split(baseValue);
                    foreach (var item in Split(change.Value))
                    {
                        if (change.Operation == ConfigOperation.Subtract)
                        {
                            items.RemoveAll(i => i == item);
                        }
                        else if (!items.Contains(item))
                        {
                            items.Add(item);
                        }
                    }

                    next[change.Name] = string.Join(',', items);
                    break;
                default:
                    return new ConfigError(ErrorCode.InvalidRequest, $"Unknown alter configs operation {(sbyte)change.Operation} for {change.Name}.");
            }
        }

        return null;
    }

    private static List<string> Split(string? value) =>
        string.IsNullOrWhiteSpace(value) ? [] : [.. value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)];

    private static IEnumerable<ConfigRecord> Diff(ConfigResourceChange resource, ImmutableDictionary<string, string> current, Dictionary<string, string> next)
    {
        foreach (var (name, _) in current)
        {
            if (!next.ContainsKey(name))
            {
                yield return new ConfigRecord { ResourceType = resource.ResourceType, ResourceName = resource.ResourceName, Name = name, Value = null };
            }
        }

        foreach (var (name, value) in next)
        {
            if (!current.TryGetValue(name, out var old) || old != value)
            {
                yield return new ConfigRecord { ResourceType = resource.ResourceType, ResourceName = resource.ResourceName, Name = name, Value = value };
            }
        }
    }

    /// <summary>Kafka's ConfigResource.Type BROKER_LOGGER.</summary>
    public const sbyte BrokerLoggerResource = 8;
}
