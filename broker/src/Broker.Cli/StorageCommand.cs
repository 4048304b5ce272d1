using System.CommandLine;
using Broker.Cluster.Metadata;
using Broker.Cluster.Raft;
using Broker.Server.Configuration;
using Broker.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Cli;

/// <summary>
/// <c>kafka-broker storage</c>: Kafka's storage tool. <c>random-uuid</c> prints a new cluster id, <c>format</c> writes
/// meta.properties and the bootstrap metadata into a node's unformatted directories, <c>info</c> shows what each
/// directory holds. The configuration is read as <c>start</c> reads it (file, KAFKA_* environment, overrides).
/// Stateless; thread-safe.
/// </summary>
internal static class StorageCommand
{
    public static Command Create()
    {
        var storage = new Command("storage", "Format and inspect a node's log directories, like Kafka's kafka-storage tool.");
        storage.Subcommands.Add(CreateRandomUuid());
        storage.Subcommands.Add(CreateFormat());
        storage.Subcommands.Add(CreateInfo());
        return storage;
    }

    private static Option<string?> ConfigOption() => new("--config", "-c")
    {
        Description = "The node's server.properties (node.id, log.dirs, metadata.log.dir).",
        HelpName = "path",
    };

    private static Option<string[]> OverrideOption() => new("--override")
    {
        Description = "key=value; wins over the file and KAFKA_* environment variables. Repeatable.",
        HelpName = "key=value",
    };

    private static Command CreateRandomUuid()
    {
        var command = new Command("random-uuid", "Print a new random cluster id (16 random bytes, base64url).");
        command.SetAction(result =>
        {
            result.InvocationConfiguration.Output.WriteLine(LogDirFormat.NewUuid(Guid.NewGuid));
            return 0;
        });
        return command;
    }

    private static Command CreateFormat()
    {
        var config = ConfigOption();
        config.Required = true;
        var overrides = OverrideOption();
        var clusterId = new Option<string>("--cluster-id", "-t") { Description = "The cluster id (see random-uuid).", Required = true, HelpName = "id" };
        var release = new Option<string?>("--release-version", "-r") { Description = "metadata.version to bootstrap, e.g. 4.0-IV3.", HelpName = "version" };
        var ignore = new Option<bool>("--ignore-formatted", "-g") { Description = "Skip directories that are already formatted." };
        var standalone = new Option<bool>("--standalone", "-s")
        {
            Description = "Dynamic quorum (with controller.quorum.bootstrap.servers): this controller is the only initial voter.",
        };
        var initialControllers = new Option<string?>("--initial-controllers", "-I")
        {
            Description = "Dynamic quorum: the initial voters, id@host:port:directoryId,... (this controller among them).",
            HelpName = "voters",
        };
        var noInitialControllers = new Option<bool>("--no-initial-controllers", "-N")
        {
            Description = "Dynamic quorum: this controller joins an existing quorum as an observer; add it later with metadata-quorum add-controller.",
        };
        var command = new Command("format", "Write meta.properties (and the bootstrap metadata) into the node's unformatted log directories.");
        command.Options.Add(config);
        command.Options.Add(overrides);
        command.Options.Add(clusterId);
        command.Options.Add(release);
        command.Options.Add(ignore);
        command.Options.Add(standalone);
        command.Options.Add(initialControllers);
        command.Options.Add(noInitialControllers);
        command.SetAction(result => Format(
            result.GetValue(config), result.GetValue(overrides) ?? [], result.GetValue(clusterId)!, result.GetValue(release), result.GetValue(ignore),
            result.InvocationConfiguration.Output, result.InvocationConfiguration.Error, result.GetValue(standalone), result.GetValue(initialControllers),
            result.GetValue(noInitialControllers)));
        return command;
    }

    private static Command CreateInfo()
    {
        var config = ConfigOption();
        config.Required = true;
        var overrides = OverrideOption();
        var command = new Command("info", "Show the cluster id, node id and directory id of each of the node's log directories.");
        command.Options.Add(config);
        command.Options.Add(overrides);
        command.SetAction(result => Info(result.GetValue(config), result.GetValue(overrides) ?? [], result.InvocationConfiguration.Output, result.InvocationConfiguration.Error));
        return command;
    }

    /// <summary>0 when formatted, 1 when refused (nothing written), 2 on a configuration error.</summary>
    internal static int Format(string? configPath, IReadOnlyList<string> overrides, string clusterId, string? releaseVersion, bool ignoreFormatted,
        TextWriter output, TextWriter error, bool standalone = false, string? initialControllers = null, bool noInitialControllers = false)
    {
        if (!TryLoad(configPath, overrides, error, out var config))
        {
            return CliApplication.ConfigErrorExitCode;
        }

        IReadOnlyList<InitialController>? voters;
        try
        {
            voters = InitialVoters(config, standalone, initialControllers, noInitialControllers);
        }
        catch (StorageFormatException e)
        {
            error.WriteLine($"error: {e.Message}");
            return 1;
        }

        try
        {
            var written = StorageFormatter.Format(
                new StorageFormatOptions(clusterId, config.NodeId, config.LogDirs, config.MetadataLogDir)
                {
                    ReleaseVersion = releaseVersion,
                    IgnoreFormatted = ignoreFormatted,
                    InitialControllers = voters,
                    ControllerListenerName = config.ControllerListenerNames.FirstOrDefault() ?? "CONTROLLER",
                },
                DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            foreach (var directory in written)
            {
                output.WriteLine($"Formatted {directory} with cluster.id {clusterId}, node.id {config.NodeId}.");
            }

            return 0;
        }
        catch (Exception e) when (e is StorageFormatException or IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    // Kafka's Formatter rules: --standalone, --initial-controllers and --no-initial-controllers exclude each other and
    // static voters, and only a controller takes them; --standalone names this node at its first controller listener;
    // --no-initial-controllers writes no voters (the node learns them from the leader once it fetches).
    private static IReadOnlyList<InitialController>? InitialVoters(BrokerConfig config, bool standalone, string? initialControllers,
        bool noInitialControllers = false)
    {
        if (!standalone && initialControllers is null && !noInitialControllers)
        {
            if (config.HasControllerRole && config.ControllerQuorumVoters.Count == 0 && config.ControllerQuorumBootstrapServers.Count > 0)
            {
                // Kafka's rule: a dynamic quorum's controller must say how it starts (a node without either key is a
                // sole voter here, which needs none of the flags).
                throw new StorageFormatException("controller.quorum.voters is not set on this controller: give one of --standalone, "
                    + "--initial-controllers or --no-initial-controllers.");
            }

            return null;
        }

        if ((standalone ? 1 : 0) + (initialControllers is null ? 0 : 1) + (noInitialControllers ? 1 : 0) > 1)
        {
            throw new StorageFormatException("--standalone, --initial-controllers and --no-initial-controllers cannot be used together.");
        }

        if (!config.HasControllerRole)
        {
            throw new StorageFormatException(
                "--standalone, --initial-controllers and --no-initial-controllers are for controllers: process.roles does not contain 'controller'.");
        }

        if (config.ControllerQuorumVoters.Count > 0)
        {
            throw new StorageFormatException(
                "controller.quorum.voters is set (a static quorum): --standalone, --initial-controllers and --no-initial-controllers are for a dynamic quorum, " +
                "which uses controller.quorum.bootstrap.servers instead.");
        }

        if (noInitialControllers)
        {
            return null;
        }

        if (initialControllers is not null)
        {
            try
            {
                return InitialController.ParseList(initialControllers);
            }
            catch (FormatException e)
            {
                throw new StorageFormatException($"--initial-controllers: {e.Message}");
            }
        }

        var listenerName = config.ControllerListenerNames.FirstOrDefault();
        var listener = config.Listeners.FirstOrDefault(l => string.Equals(l.Name, listenerName, StringComparison.OrdinalIgnoreCase))
            ?? throw new StorageFormatException($"--standalone needs a controller listener in listeners (controller.listener.names={listenerName}).");
        var host = listener.Host is "" or "0.0.0.0" or "::" ? "localhost" : listener.Host;
        return [new InitialController(config.NodeId, host, listener.Port, Guid.Empty)];
    }

    /// <summary>0 when every directory is formatted for one cluster and this node, 1 otherwise, 2 on a configuration error.</summary>
    internal static int Info(string? configPath, IReadOnlyList<string> overrides, TextWriter output, TextWriter error)
    {
        if (!TryLoad(configPath, overrides, error, out var config))
        {
            return CliApplication.ConfigErrorExitCode;
        }

        var problems = 0;
        var clusters = new HashSet<string>(StringComparer.Ordinal);
        foreach (var directory in config.LogDirs.Append(config.MetadataLogDir).Distinct(StringComparer.Ordinal))
        {
            try
            {
                if (LogDirFormat.Read(directory) is not { } identity)
                {
                    output.WriteLine($"{directory}: not formatted");
                    problems++;
                    continue;
                }

                clusters.Add(identity.ClusterId);
                var mismatch = identity.NodeId == config.NodeId ? "" : $" (but this node is node.id {config.NodeId})";
                problems += mismatch.Length == 0 ? 0 : 1;
                output.WriteLine($"{directory}: cluster.id={identity.ClusterId} node.id={identity.NodeId}{mismatch} directory.id={identity.DirectoryIdText}");
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                output.WriteLine($"{directory}: unreadable: {e.Message}");
                problems++;
            }
        }

        if (clusters.Count > 1)
        {
            output.WriteLine($"The directories belong to different clusters: {string.Join(", ", clusters.Order(StringComparer.Ordinal))}.");
            problems++;
        }

        return problems == 0 ? 0 : 1;
    }

    private static bool TryLoad(string? configPath, IReadOnlyList<string> overrides, TextWriter error, out BrokerConfig config)
    {
        try
        {
            Dictionary<string, string> overrideMap;
            try
            {
                overrideMap = KeyValueArguments.Parse(overrides, "--override");
            }
            catch (FormatException e)
            {
                throw new ConfigException(e.Message, e);
            }

            config = BrokerConfig.Load(configPath, StartCommand.ReadEnvironment(), overrideMap, NullLogger<BrokerConfig>.Instance);
            return true;
        }
        catch (ConfigException e)
        {
            error.WriteLine($"error: {e.Message}");
            config = null!;
            return false;
        }
    }
}
