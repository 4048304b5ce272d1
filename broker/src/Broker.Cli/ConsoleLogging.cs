using System.CommandLine;
using Microsoft.Extensions.Logging;

namespace Broker.Cli;

/// <summary>Console logging of the CLI: one line per entry with a timestamp. Stateless; thread-safe.</summary>
internal static partial class ConsoleLogging
{
    public static ILoggerFactory CreateFactory(LogLevel minimumLevel) =>
        LoggerFactory.Create(builder => builder
            .SetMinimumLevel(minimumLevel)
            .AddSimpleConsole(options =>
            {
                options.SingleLine = true;
                options.IncludeScopes = false;
                options.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
            }));

    public static Option<LogLevel> CreateLogLevelOption() => new("--log-level")
    {
        Description = "trace, debug, info, warn, error, critical or none.",
        HelpName = "level",
        DefaultValueFactory = _ => LogLevel.Information,
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
            if (TryParseLevel(text, out var level))
            {
                return level;
            }

            result.AddError($"Unknown log level '{text}': expected trace, debug, info, warn, error, critical or none.");
            return LogLevel.Information;
        },
    };

    /// <summary>Accepts Microsoft.Extensions.Logging names and the short log4j-style ones (info, warn, fatal, off).</summary>
    public static bool TryParseLevel(string text, out LogLevel level)
    {
        switch (text.Trim().ToUpperInvariant())
        {
            case "TRACE": level = LogLevel.Trace; return true;
            case "DEBUG": level = LogLevel.Debug; return true;
            case "INFO" or "INFORMATION": level = LogLevel.Information; return true;
            case "WARN" or "WARNING": level = LogLevel.Warning; return true;
            case "ERROR": level = LogLevel.Error; return true;
            case "CRITICAL" or "FATAL": level = LogLevel.Critical; return true;
            case "NONE" or "OFF": level = LogLevel.None; return true;
            default: level = LogLevel.Information; return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Formatted {Directory} with cluster.id {ClusterId}, node.id {NodeId}")]
    public static partial void StorageFormatted(ILogger logger, string directory, string? clusterId, int nodeId);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The broker failed")]
    public static partial void BrokerFailed(ILogger logger, Exception exception);
}
