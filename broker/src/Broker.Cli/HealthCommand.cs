using System.CommandLine;
using System.Globalization;
using System.Net;
using Broker.Server.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broker.Cli;

/// <summary>
/// <c>kafka-broker health</c>: asks the local broker's health endpoint whether it is ready (/v1/ready answers 204), for
/// the image's HEALTHCHECK, which has no curl. The port is health.port as <c>start</c> reads it (file, KAFKA_*
/// environment). Stateless; thread-safe.
/// </summary>
internal static class HealthCommand
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(3);

    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c")
        {
            Description = "The broker's server.properties (for health.port); defaults only when omitted.",
            HelpName = "path",
        };
        var command = new Command("health", "Exit 0 when the local broker answers /v1/ready with 204, 1 otherwise (container health checks).");
        command.Options.Add(config);
        command.SetAction((result, ct) => RunAsync(result.GetValue(config), result.InvocationConfiguration.Error, ct));
        return command;
    }

    /// <summary>0 when ready, 1 when not ready or unreachable, 2 on a configuration error.</summary>
    public static async Task<int> RunAsync(string? configPath, TextWriter error, CancellationToken ct)
    {
        BrokerConfig config;
        try
        {
            config = BrokerConfig.Load(configPath, StartCommand.ReadEnvironment(), new Dictionary<string, string>(), NullLogger<BrokerConfig>.Instance);
        }
        catch (ConfigException e)
        {
            await error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return CliApplication.ConfigErrorExitCode;
        }

        if (config.HealthPort <= 0)
        {
            await error.WriteLineAsync($"error: health.port is {config.HealthPort}: the health endpoint is disabled or ephemeral.").ConfigureAwait(false);
            return 1;
        }

        var url = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{config.HealthPort}/v1/ready"));
        using var http = new HttpClient { Timeout = RequestTimeout };
        try
        {
            using var response = await http.GetAsync(url, ct).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NoContent)
            {
                return 0;
            }

            await error.WriteLineAsync($"not ready: {url} answered {(int)response.StatusCode}").ConfigureAwait(false);
            return 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            await error.WriteLineAsync($"not ready: {url}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
