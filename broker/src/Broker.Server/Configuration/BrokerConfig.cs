using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Server.Configuration;

/// <summary>
/// The broker's effective configuration: defaults from <see cref="BrokerConfigDef"/>, overlaid by a Java
/// properties file, then <c>KAFKA_*</c> environment variables, then explicit overrides. Every value is parsed
/// and validated once, at load; unknown keys are logged and kept. Immutable; thread-safe.
/// </summary>
public sealed partial class BrokerConfig
{
    private readonly ImmutableSortedDictionary<string, ConfigValue> _values;
    private readonly FrozenDictionary<string, object?> _parsed;
    private readonly FrozenDictionary<string, string> _topicDefaults;

    private BrokerConfig(ImmutableSortedDictionary<string, ConfigValue> values)
    {
        _values = values;
        var parsed = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var key in Definition.Keys)
        {
            parsed[key.Name] = key.Parse(values[key.Name].Value);
        }

        _parsed = parsed.ToFrozenDictionary(StringComparer.Ordinal);

        NodeId = GetInt(ConfigNames.NodeId);
        ProcessRoles = GetList(ConfigNames.ProcessRoles);
        HasBrokerRole = ProcessRoles.Contains("broker");
        HasControllerRole = ProcessRoles.Contains("controller");
        ClusterId = GetString(ConfigNames.ClusterId);
        Rack = GetString(ConfigNames.BrokerRack);

        var listeners = ListenerSettings.Resolve(Get, IsSet, HasBrokerRole, HasControllerRole);
        Listeners = listeners.Listeners;
        AdvertisedListeners = listeners.AdvertisedListeners;
        AdvertisedControllerListeners = listeners.AdvertisedControllerListeners;
        ListenerSecurityProtocolMap = listeners.SecurityProtocolMap;
        InterBrokerListenerName = listeners.InterBrokerListenerName;
        ControllerListenerNames = listeners.ControllerListenerNames;
        ControllerQuorumVoters = GetList(ConfigNames.ControllerQuorumVoters);
        ControllerQuorumBootstrapServers = GetList(ConfigNames.ControllerQuorumBootstrapServers);

        LogDirs = (IReadOnlyList<string>?)Get(ConfigNames.LogDirs) ?? [GetString(ConfigNames.LogDir)!];
        if (LogDirs.Count == 0)
        {
            throw ConfigException.InvalidValue(ConfigNames.LogDirs, values[ConfigNames.LogDirs].Value, "must name at least one directory");
        }

        MetadataLogDir = GetString(ConfigNames.MetadataLogDir) ?? LogDirs[0];

        NumNetworkThreads = GetInt(ConfigNames.NumNetworkThreads);
        NumIoThreads = GetInt(ConfigNames.NumIoThreads);
        QueuedMaxRequests = GetInt(ConfigNames.QueuedMaxRequests);
        SocketSendBufferBytes = GetInt(ConfigNames.SocketSendBufferBytes);
        SocketReceiveBufferBytes = GetInt(ConfigNames.SocketReceiveBufferBytes);
        SocketRequestMaxBytes = GetInt(ConfigNames.SocketRequestMaxBytes);
        SocketListenBacklogSize = GetInt(ConfigNames.SocketListenBacklogSize);
        ConnectionsMaxIdleMs = GetLong(ConfigNames.ConnectionsMaxIdleMs);
        MaxConnections = GetInt(ConfigNames.MaxConnections);
        MaxConnectionsPerIp = GetInt(ConfigNames.MaxConnectionsPerIp);
        HealthHost = GetString(ConfigNames.HealthHost)!;
        HealthPort = GetInt(ConfigNames.HealthPort);
        MetricsHost = GetString(ConfigNames.MetricsHost)!;
        MetricsPort = GetInt(ConfigNames.MetricsPort);

        NumPartitions = GetInt(ConfigNames.NumPartitions);
        DefaultReplicationFactor = GetInt(ConfigNames.DefaultReplicationFactor);
        AutoCreateTopicsEnable = GetBoolean(ConfigNames.AutoCreateTopicsEnable);
        DeleteTopicEnable = GetBoolean(ConfigNames.DeleteTopicEnable);
        MessageMaxBytes = GetInt(ConfigNames.MessageMaxBytes);
        MinInsyncReplicas = GetInt(ConfigNames.MinInsyncReplicas);
        CompressionType = GetString(ConfigNames.CompressionType)!;
        FetchMaxBytes = GetInt(ConfigNames.FetchMaxBytes);

        LogSegmentBytes = GetInt(ConfigNames.LogSegmentBytes);
        LogRollMs = ResolveLong(TopicConfigNames.SegmentMs);
        LogRollJitterMs = ResolveLong(TopicConfigNames.SegmentJitterMs);
        LogIndexIntervalBytes = GetInt(ConfigNames.LogIndexIntervalBytes);
        LogIndexSizeMaxBytes = GetInt(ConfigNames.LogIndexSizeMaxBytes);
        LogPreallocate = GetBoolean(ConfigNames.LogPreallocate);
        LogFlushIntervalMessages = GetLong(ConfigNames.LogFlushIntervalMessages);
        LogFlushIntervalMs = ResolveLong(TopicConfigNames.FlushMs);
        LogFlushSchedulerIntervalMs = GetLong(ConfigNames.LogFlushSchedulerIntervalMs);
        LogFlushOffsetCheckpointIntervalMs = GetInt(ConfigNames.LogFlushOffsetCheckpointIntervalMs);
        LogFlushStartOffsetCheckpointIntervalMs = GetInt(ConfigNames.LogFlushStartOffsetCheckpointIntervalMs);
        LogRetentionMs = ResolveLong(TopicConfigNames.RetentionMs);
        LogRetentionBytes = GetLong(ConfigNames.LogRetentionBytes);
        LogRetentionCheckIntervalMs = GetLong(ConfigNames.LogRetentionCheckIntervalMs);
        LogMessageTimestampType = GetString(ConfigNames.LogMessageTimestampType)!;
        LogCleanupPolicy = GetList(ConfigNames.LogCleanupPolicy);
        NumRecoveryThreadsPerDataDir = GetInt(ConfigNames.NumRecoveryThreadsPerDataDir);

        OffsetsTopicReplicationFactor = GetShort(ConfigNames.OffsetsTopicReplicationFactor);
        OffsetsTopicNumPartitions = GetInt(ConfigNames.OffsetsTopicNumPartitions);
        TransactionStateLogReplicationFactor = GetShort(ConfigNames.TransactionStateLogReplicationFactor);
        ProducerIdExpirationMs = GetInt(ConfigNames.ProducerIdExpirationMs);
        ProducerIdExpirationCheckIntervalMs = GetInt(ConfigNames.ProducerIdExpirationCheckIntervalMs);
        TransactionStateLogNumPartitions = GetInt(ConfigNames.TransactionStateLogNumPartitions);
        GroupInitialRebalanceDelayMs = GetInt(ConfigNames.GroupInitialRebalanceDelayMs);

        ReplicaFetchMaxBytes = GetInt(ConfigNames.ReplicaFetchMaxBytes);
        ReplicaFetchResponseMaxBytes = GetInt(ConfigNames.ReplicaFetchResponseMaxBytes);
        ReplicaFetchWaitMaxMs = GetInt(ConfigNames.ReplicaFetchWaitMaxMs);
        ReplicaLagTimeMaxMs = GetLong(ConfigNames.ReplicaLagTimeMaxMs);

        _topicDefaults = BuildTopicDefaults();
    }

    /// <summary>The key table this configuration is checked against.</summary>
    public static ConfigDef Definition => BrokerConfigDef.Instance;

    // Node and cluster.
    public int NodeId { get; }
    public IReadOnlyList<string> ProcessRoles { get; }
    public bool HasBrokerRole { get; }
    public bool HasControllerRole { get; }
    public string? ClusterId { get; }
    public string? Rack { get; }

    // Listeners and quorum.

    /// <summary>Endpoints to bind; an empty host means every interface.</summary>
    public IReadOnlyList<ListenerDefinition> Listeners { get; }

    /// <summary>Endpoints published in metadata; never an empty or wildcard host.</summary>
    public IReadOnlyList<ListenerDefinition> AdvertisedListeners { get; }

    /// <summary>Controller listeners named in <c>advertised.listeners</c> (a controller's own advertised endpoints,
    /// Kafka 3.9+); empty when none is.</summary>
    public IReadOnlyList<ListenerDefinition> AdvertisedControllerListeners { get; }

    /// <summary>Listener name (upper case) to security protocol.</summary>
    public IReadOnlyDictionary<string, SecurityProtocol> ListenerSecurityProtocolMap { get; }
    public string InterBrokerListenerName { get; }
    public IReadOnlyList<string> ControllerListenerNames { get; }
    public IReadOnlyList<string> ControllerQuorumVoters { get; }
    public IReadOnlyList<string> ControllerQuorumBootstrapServers { get; }

    // Storage locations.

    /// <summary><c>log.dirs</c> if set, otherwise <c>log.dir</c>; never empty.</summary>
    public IReadOnlyList<string> LogDirs { get; }

    /// <summary><c>metadata.log.dir</c>, defaulting to the first log directory.</summary>
    public string MetadataLogDir { get; }

    // Network.
    public int NumNetworkThreads { get; }
    public int NumIoThreads { get; }
    public int QueuedMaxRequests { get; }
    public int SocketSendBufferBytes { get; }
    public int SocketReceiveBufferBytes { get; }
    public int SocketRequestMaxBytes { get; }
    public int SocketListenBacklogSize { get; }
    public long ConnectionsMaxIdleMs { get; }
    public int MaxConnections { get; }
    public int MaxConnectionsPerIp { get; }

    // Health and metrics side ports; -1 disables one, 0 binds an ephemeral port.
    public string HealthHost { get; }
    public int HealthPort { get; }
    public string MetricsHost { get; }
    public int MetricsPort { get; }

    // Topics.
    public int NumPartitions { get; }
    public int DefaultReplicationFactor { get; }
    public bool AutoCreateTopicsEnable { get; }
    public bool DeleteTopicEnable { get; }
    public int MessageMaxBytes { get; }
    public int MinInsyncReplicas { get; }
    public string CompressionType { get; }
    public int FetchMaxBytes { get; }

    // Log.
    public int LogSegmentBytes { get; }

    /// <summary><c>log.roll.ms</c>, else <c>log.roll.hours</c> in milliseconds.</summary>
    public long LogRollMs { get; }

    /// <summary><c>log.roll.jitter.ms</c>, else <c>log.roll.jitter.hours</c> in milliseconds.</summary>
    public long LogRollJitterMs { get; }
    public int LogIndexIntervalBytes { get; }
    public int LogIndexSizeMaxBytes { get; }
    public bool LogPreallocate { get; }
    public long LogFlushIntervalMessages { get; }

    /// <summary><c>log.flush.interval.ms</c>, else <c>log.flush.scheduler.interval.ms</c>.</summary>
    public long LogFlushIntervalMs { get; }
    public long LogFlushSchedulerIntervalMs { get; }
    public int LogFlushOffsetCheckpointIntervalMs { get; }
    public int LogFlushStartOffsetCheckpointIntervalMs { get; }

    /// <summary><c>log.retention.ms</c>, else minutes, else hours, in milliseconds; -1 = keep forever.</summary>
    public long LogRetentionMs { get; }
    public long LogRetentionBytes { get; }
    public long LogRetentionCheckIntervalMs { get; }
    public string LogMessageTimestampType { get; }
    public IReadOnlyList<string> LogCleanupPolicy { get; }
    public int NumRecoveryThreadsPerDataDir { get; }

    // Coordinators.
    public short OffsetsTopicReplicationFactor { get; }
    public int OffsetsTopicNumPartitions { get; }
    public short TransactionStateLogReplicationFactor { get; }

    /// <summary><c>producer.id.expiration.ms</c>: idle producers are forgotten after this long.</summary>
    public int ProducerIdExpirationMs { get; }
    public int ProducerIdExpirationCheckIntervalMs { get; }
    public int TransactionStateLogNumPartitions { get; }
    public int GroupInitialRebalanceDelayMs { get; }

    // Replication.
    public int ReplicaFetchMaxBytes { get; }
    public int ReplicaFetchResponseMaxBytes { get; }
    public int ReplicaFetchWaitMaxMs { get; }
    public long ReplicaLagTimeMaxMs { get; }

    /// <summary>
    /// Every key with its effective raw value and where it came from, sorted by name: all defined keys
    /// (value null when unset without default) and every unknown key that was supplied.
    /// </summary>
    public IReadOnlyDictionary<string, ConfigValue> AllValues => _values;

    /// <summary>Loads the configuration; <paramref name="propertiesPath"/> may be null for defaults only.</summary>
    /// <exception cref="ConfigException">The file cannot be read, or a value is invalid.</exception>
    public static BrokerConfig Load(
        string? propertiesPath,
        IReadOnlyDictionary<string, string> environment,
        IReadOnlyDictionary<string, string> overrides,
        ILogger? logger = null)
    {
        string? text = null;
        if (propertiesPath is not null)
        {
            try
            {
                text = File.ReadAllText(propertiesPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ConfigException($"Cannot read configuration file '{propertiesPath}': {e.Message}", e);
            }
        }

        return Build(text, propertiesPath, environment, overrides, logger ?? NullLogger.Instance);
    }

    /// <summary>Loads the configuration from properties text, e.g. in tests.</summary>
    /// <exception cref="ConfigException">A value is invalid.</exception>
    public static BrokerConfig Parse(
        string propertiesText,
        IReadOnlyDictionary<string, string>? environment = null,
        IReadOnlyDictionary<string, string>? overrides = null,
        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(propertiesText);
        return Build(propertiesText, null, environment ?? FrozenDictionary<string, string>.Empty,
            overrides ?? FrozenDictionary<string, string>.Empty, logger ?? NullLogger.Instance);
    }

    /// <summary>The security protocol name (e.g. <c>PLAINTEXT</c>, <c>SASL_SSL</c>) of a listener.</summary>
    /// <exception cref="ArgumentException">The listener is not in listener.security.protocol.map.</exception>
    public string SecurityProtocolFor(string listenerName)
    {
        ArgumentNullException.ThrowIfNull(listenerName);
        return ListenerSecurityProtocolMap.TryGetValue(listenerName.ToUpperInvariant(), out var protocol)
            ? protocol.ToName()
            : throw new ArgumentException($"Listener {listenerName} has no security protocol.", nameof(listenerName));
    }

    /// <summary>True when the key was given explicitly (file, environment or override) rather than defaulted.</summary>
    public bool IsSet(string key) => _values.TryGetValue(key, out var v) && v.Source != ConfigSource.Default;

    /// <summary>The effective entry of any key, defined or not.</summary>
    public bool TryGetValue(string key, out ConfigValue value) => _values.TryGetValue(key, out value);

    /// <summary>
    /// Topic-level defaults derived from the broker-level keys (segment.bytes from log.segment.bytes,
    /// retention.ms from log.retention.ms/minutes/hours, ...), as the strings a topic config would hold.
    /// </summary>
    public IReadOnlyDictionary<string, string> TopicDefaults() => _topicDefaults;

    public int GetInt(string key) => Typed<int>(key);

    public short GetShort(string key) => Typed<short>(key);

    public long GetLong(string key) => Typed<long>(key);

    public double GetDouble(string key) => Typed<double>(key);

    public bool GetBoolean(string key) => Typed<bool>(key);

    /// <summary>A String or Password key's value; null when unset without default.</summary>
    public string? GetString(string key) => (string?)Get(key);

    /// <summary>A List key's items; empty when unset without default.</summary>
    public IReadOnlyList<string> GetList(string key) => (IReadOnlyList<string>?)Get(key) ?? [];

    private object? Get(string key) =>
        _parsed.TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"{key} is not a defined broker configuration key.");

    private T Typed<T>(string key) where T : struct =>
        Get(key) switch
        {
            T value => value,
            null => throw new InvalidOperationException($"{key} has no value."),
            var other => throw new InvalidCastException($"{key} is a {other.GetType().Name}, not a {typeof(T).Name}."),
        };

    /// <summary>The first broker synonym of a topic key that has a value, scaled to the topic key's unit.</summary>
    private (object Value, string BrokerKey) ResolveSynonyms(string topicKey)
    {
        var synonyms = TopicConfigSynonyms.For(topicKey);
        foreach (var synonym in synonyms)
        {
            switch (Get(synonym.Name))
            {
                case null:
                    continue;
                case int i when synonym.Multiplier != 1:
                    return ((long)i * synonym.Multiplier, synonym.Name);
                case long l when synonym.Multiplier != 1:
                    return (checked(l * synonym.Multiplier), synonym.Name);
                case var value:
                    return (value, synonym.Name);
            }
        }

        throw new InvalidOperationException($"No broker key supplies a default for {topicKey}.");
    }

    private long ResolveLong(string topicKey)
    {
        var (value, brokerKey) = ResolveSynonyms(topicKey);
        var result = Convert.ToInt64(value, CultureInfo.InvariantCulture);
        if (topicKey == TopicConfigNames.RetentionMs)
        {
            // Any negative retention means "forever"; zero would delete everything at once, so Kafka refuses it.
            if (result == 0)
            {
                throw ConfigException.InvalidValue(brokerKey, _values[brokerKey].Value, "retention must be -1 (unlimited) or at least 1 ms");
            }

            result = Math.Max(result, -1);
        }

        return result;
    }

    private FrozenDictionary<string, string> BuildTopicDefaults()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (topicKey, _) in TopicConfigSynonyms.All)
        {
            var (value, _) = ResolveSynonyms(topicKey);
            result[topicKey] = topicKey == TopicConfigNames.RetentionMs
                ? LogRetentionMs.ToString(CultureInfo.InvariantCulture)
                : Format(value);
        }

        return result.ToFrozenDictionary(StringComparer.Ordinal);
    }

    internal static string Format(object value) => value switch
    {
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IReadOnlyList<string> list => string.Join(',', list),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}
