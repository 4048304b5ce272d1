using Broker.Cluster.Raft;
using Broker.Server.Configuration;

namespace Broker.Server.Raft;

/// <summary>
/// Turns server.properties into a <see cref="QuorumConfig"/>, with Kafka's KafkaConfig checks of the KRaft keys; an
/// error is a <see cref="ConfigException"/> naming the key (the host exits with code 2). Stateless; thread-safe.
/// </summary>
internal static class QuorumSettings
{
    /// <summary>
    /// The quorum of a KRaft node, or null when neither <c>controller.quorum.voters</c> nor
    /// <c>controller.quorum.bootstrap.servers</c> is set (the node is then a quorum of itself: <see cref="SoleVoter"/>). With voters the
    /// quorum is static (kraft.version 0) and bootstrap servers only serve observers looking for the leader, as in Kafka;
    /// bootstrap servers alone are accepted for broker-only nodes (observers), and for controllers whose storage was
    /// formatted for a dynamic quorum (<see cref="BootstrapVoters"/>: the voters are read from it and then stay fixed).
    /// </summary>
    public static QuorumConfig? From(BrokerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.ControllerQuorumVoters.Count == 0 && config.ControllerQuorumBootstrapServers.Count == 0)
        {
            return null;
        }

        IReadOnlyList<VoterEndpoint> bootstrap;
        var rawBootstrap = string.Join(',', config.ControllerQuorumBootstrapServers);
        try
        {
            bootstrap = QuorumConfig.ParseBootstrapServers(rawBootstrap);
        }
        catch (FormatException e)
        {
            throw ConfigException.InvalidValue(ConfigNames.ControllerQuorumBootstrapServers, rawBootstrap, e.Message);
        }

        var raw = string.Join(',', config.ControllerQuorumVoters);
        IReadOnlyList<VoterEndpoint>? fromStorage = null;
        var dynamic = config.ControllerQuorumVoters.Count == 0 && config.HasControllerRole;
        if (dynamic)
        {
            // A dynamic quorum (kraft.version 1): the voters the storage tool wrote (--standalone, --initial-controllers).
            try
            {
                fromStorage = BootstrapVoters.TryRead(config.MetadataLogDir, config.ControllerListenerNames);
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                throw new ConfigException($"Cannot read the quorum's initial voters: {e.Message}", e);
            }

            if (fromStorage is null && !BootstrapVoters.IsFormattedWithoutVoters(config.MetadataLogDir))
            {
                throw ConfigException.InvalidValue(ConfigNames.ControllerQuorumBootstrapServers, rawBootstrap,
                    "a controller without controller.quorum.voters needs its storage formatted with --standalone or --initial-controllers "
                    + "(kafka-broker storage format), which records the initial voters, or with --no-initial-controllers to join "
                    + "an existing quorum as an observer until it is added (add-controller)");
            }

            // Formatted with --no-initial-controllers: no voters yet; the leader's log tells them once this node fetches.
            fromStorage ??= [];
            raw = string.Join(',', fromStorage.Select(v => $"{v.Id}@{v.Host}:{v.Port}"));
        }

        QuorumConfig quorum;
        try
        {
            quorum = new QuorumConfig(fromStorage ?? QuorumConfig.ParseVoters(raw))
            {
                BootstrapServers = bootstrap,
                ElectionTimeoutMs = config.GetInt(ConfigNames.ControllerQuorumElectionTimeoutMs),
                FetchTimeoutMs = config.GetInt(ConfigNames.ControllerQuorumFetchTimeoutMs),
                ElectionBackoffMaxMs = config.GetInt(ConfigNames.ControllerQuorumElectionBackoffMaxMs),
                RequestTimeoutMs = config.GetInt(ConfigNames.ControllerQuorumRequestTimeoutMs),
                RetryBackoffMs = config.GetInt(ConfigNames.ControllerQuorumRetryBackoffMs),
                Retention = Retention(config),
                RetentionCheckIntervalMs = config.GetInt(ConfigNames.MetadataRetentionCheckIntervalMs),
                LocalListeners = config.HasControllerRole ? LocalListeners(config) : [],
                AutoJoin = config.HasControllerRole && config.GetBoolean(ConfigNames.ControllerQuorumAutoJoinEnable),
                KRaftVersion = dynamic ? (short)1 : (short)0,
                ListenerName = config.ControllerListenerNames.Count > 0 ? config.ControllerListenerNames[0] : "CONTROLLER",
            };
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw ConfigException.InvalidValue(ConfigNames.ControllerQuorumVoters, raw, e.Message);
        }

        if (quorum.Voters.Count == 0 && quorum.BootstrapServers.Count == 0)
        {
            throw ConfigException.InvalidValue(ConfigNames.ControllerQuorumVoters, raw, "names no voter");
        }

        if (config.ControllerListenerNames.Count == 0)
        {
            throw ConfigException.InvalidValue(ConfigNames.ControllerListenerNames, "",
                "must contain at least one value when running in KRaft mode (controller.quorum.voters is set)");
        }

        var isVoter = quorum.IsVoter(config.NodeId);
        if (config.HasControllerRole && !isVoter && !(dynamic && quorum.Voters.Count == 0))
        {
            throw ConfigException.InvalidValue(ConfigNames.ControllerQuorumVoters, raw,
                $"process.roles contains 'controller', so node.id {config.NodeId} must be one of the voters");
        }

        if (!config.HasControllerRole && isVoter)
        {
            throw ConfigException.InvalidValue(ConfigNames.ControllerQuorumVoters, raw,
                $"process.roles is just 'broker', so node.id {config.NodeId} must not be one of the voters");
        }

        return quorum;
    }

    /// <summary>
    /// The quorum of a node without <c>controller.quorum.voters</c>: itself as the only voter, as Kafka's single combined
    /// node configured with <c>controller.quorum.voters=&lt;node.id&gt;@&lt;controller listener&gt;</c>. The endpoint is
    /// informational (a sole voter never sends): the first controller listener when one is defined, else 127.0.0.1:0.
    /// </summary>
    public static QuorumConfig SoleVoter(BrokerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var endpoint = new VoterEndpoint(config.NodeId, "127.0.0.1", 0);
        foreach (var listener in config.Listeners)
        {
            if (config.ControllerListenerNames.Contains(listener.Name, StringComparer.OrdinalIgnoreCase))
            {
                endpoint = new VoterEndpoint(config.NodeId, string.IsNullOrEmpty(listener.Host) ? "127.0.0.1" : listener.Host, listener.Port);
                break;
            }
        }

        return new QuorumConfig([endpoint])
        {
            ElectionTimeoutMs = config.GetInt(ConfigNames.ControllerQuorumElectionTimeoutMs),
            FetchTimeoutMs = config.GetInt(ConfigNames.ControllerQuorumFetchTimeoutMs),
            ElectionBackoffMaxMs = config.GetInt(ConfigNames.ControllerQuorumElectionBackoffMaxMs),
            RequestTimeoutMs = config.GetInt(ConfigNames.ControllerQuorumRequestTimeoutMs),
            RetryBackoffMs = config.GetInt(ConfigNames.ControllerQuorumRetryBackoffMs),
            Retention = Retention(config),
            RetentionCheckIntervalMs = config.GetInt(ConfigNames.MetadataRetentionCheckIntervalMs),
        };
    }

    /// <summary>
    /// This controller's listeners as the voter set should record them (Kafka's effective advertised controller
    /// listeners): the advertised controller listeners when any is advertised, else the controller listeners, with a
    /// wildcard or empty host written as <c>localhost</c>, as the storage tool's <c>--standalone</c> and
    /// <c>add-controller</c> write it.
    /// </summary>
    public static IReadOnlyList<VoterListener> LocalListeners(BrokerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        bool IsController(ListenerDefinition l) => config.ControllerListenerNames.Contains(l.Name, StringComparer.OrdinalIgnoreCase);
        var source = config.AdvertisedControllerListeners.Count > 0 ? config.AdvertisedControllerListeners : config.Listeners.Where(IsController).ToList();
        return [.. source.Select(static l => new VoterListener(l.Name, l.Host is "" or "0.0.0.0" or "::" ? "localhost" : l.Host, l.Port))];
    }

    /// <summary>How long older metadata snapshots and the log after them are kept (<c>metadata.max.retention.*</c>).</summary>
    public static SnapshotRetention Retention(BrokerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new SnapshotRetention(config.GetLong(ConfigNames.MetadataMaxRetentionBytes), config.GetLong(ConfigNames.MetadataMaxRetentionMs));
    }

    /// <summary>When this node snapshots its metadata image (Kafka's <c>metadata.log.*</c> keys).</summary>
    public static MetadataSnapshotPolicy SnapshotPolicy(BrokerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new MetadataSnapshotPolicy(config.GetLong(ConfigNames.MetadataLogMaxRecordBytesBetweenSnapshots),
            config.GetLong(ConfigNames.MetadataLogMaxSnapshotIntervalMs))
        {
            LogSegmentBytes = config.GetInt(ConfigNames.MetadataLogSegmentBytes),
        };
    }
}
