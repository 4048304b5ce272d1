using System.Collections;
using System.CommandLine;
using Broker.Server;
using Broker.Server.Configuration;
using Microsoft.Extensions.Logging;

namespace Broker.Cli;

/// <summary><c>kafka-broker start</c>: loads the configuration and runs the broker until SIGINT/SIGTERM. Stateless; thread-safe.</summary>
internal static class StartCommand
{
    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c")
        {
            Description = "Java properties file (e.g. broker/config/server.properties); defaults only when omitted.",
            HelpName = "path",
        };
        var overrides = new Option<string[]>("--override")
        {
            Description = "key=value; wins over the file and KAFKA_* environment variables. Repeatable.",
            HelpName = "key=value",
        };
        var autoFormat = new Option<bool>("--auto-format")
        {
            Description = "Format unformatted log directories first (containers): cluster.id, else $CLUSTER_ID, else a new id; " +
                "refuses unwritable or foreign directories without touching them (exit 1).",
        };
        var logLevel = ConsoleLogging.CreateLogLevelOption();

        var command = new Command("start", "Run a broker until Ctrl-C or SIGTERM, then stop gracefully.");
        command.Options.Add(config);
        command.Options.Add(overrides);
        command.Options.Add(autoFormat);
        command.Options.Add(logLevel);
        command.SetAction((result, ct) => RunAsync(
            result.GetValue(config),
            result.GetValue(overrides) ?? [],
            result.GetValue(logLevel),
            result.InvocationConfiguration.Error,
            ct,
            result.GetValue(autoFormat)));
        return command;
    }

    /// <summary>0 after a clean stop, 2 on a configuration error, 1 when the broker fails or its storage is refused.</summary>
    public static async Task<int> RunAsync(string? configPath, IReadOnlyList<string> overrides, LogLevel logLevel, TextWriter error, CancellationToken ct,
        bool autoFormat = false)
    {
        using var loggerFactory = ConsoleLogging.CreateFactory(logLevel);
        var logger = loggerFactory.CreateLogger("Broker.Cli");
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

            var environment = ReadEnvironment();
            var config = BrokerConfig.Load(configPath, environment, overrideMap, loggerFactory.CreateLogger<BrokerConfig>());
            if (autoFormat)
            {
                var (clusterId, formatted) = StartupStorage.Prepare(config, environment, Guid.NewGuid, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                foreach (var directory in formatted)
                {
                    ConsoleLogging.StorageFormatted(logger, directory, clusterId, config.NodeId);
                }
            }

            await BrokerHost.RunAsync(config, loggerFactory, ct).ConfigureAwait(false);
            return 0;
        }
        catch (ConfigException e)
        {
            await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return CliApplication.ConfigErrorExitCode;
        }
        catch (StartupStorageException e)
        {
            await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return 0;
        }
#pragma warning disable CA1031 // The process boundary: anything else is reported and becomes exit code 1.
        catch (Exception e)
#pragma warning restore CA1031
        {
            ConsoleLogging.BrokerFailed(logger, e);
            return 1;
        }
    }

    internal static Dictionary<string, string> ReadEnvironment()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key && entry.Value is string value)
            {
                result[key] = value;
            }
        }

        return result;
    }
}
