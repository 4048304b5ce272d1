using System.Diagnostics.CodeAnalysis;

namespace Broker.Storage;

/// <summary>Settings of a <see cref="LogManager"/>. Immutable once passed in; thread-safe.</summary>
public sealed class LogManagerOptions
{
    public LogManagerOptions()
    {
    }

    [SetsRequiredMembers]
    public LogManagerOptions(IReadOnlyList<string> logDirs, int nodeId, string? clusterId, LogConfig defaultConfig)
    {
        LogDirs = logDirs;
        NodeId = nodeId;
        ClusterId = clusterId;
        DefaultConfig = defaultConfig;
    }

    /// <summary>log.dirs: one or more directories, created if missing.</summary>
    public required IReadOnlyList<string> LogDirs { get; init; }

    /// <summary>node.id; must match meta.properties of existing log dirs.</summary>
    public required int NodeId { get; init; }

    /// <summary>
    /// Expected cluster id (base64url uuid). Null: adopt the one found in meta.properties, or generate one for a fresh
    /// directory set (a stand-in for kafka-storage format).
    /// </summary>
    public string? ClusterId { get; init; }

    /// <summary>Config for logs whose topic has no specific settings (the broker's log.* values).</summary>
    public LogConfig DefaultConfig { get; init; } = LogConfig.Default;

    /// <summary>Config of a topic for logs found on disk at startup; null means <see cref="DefaultConfig"/> for all.</summary>
    public Func<string, LogConfig>? TopicConfig { get; init; }

    /// <summary>Updated while <see cref="LogManager.Open"/> loads the logs, for a health endpoint; null to not track.</summary>
    public LogRecoveryProgress? RecoveryProgress { get; init; }

    /// <summary>Source of new ids (directory ids, cluster id, deleted-directory suffixes); injectable for tests.</summary>
    public Func<Guid> NewGuid { get; init; } = Guid.NewGuid;
}

/// <summary>A log dir and the id from its meta.properties (BrokerRegistration reports these). Immutable.</summary>
public sealed record LogDirectory(string Path, Guid DirectoryId);
