using System.Text;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Broker.Server.Observability;

/// <summary>
/// The two side ports: health (<c>/v1/ready</c>, <c>/v1/broker-state</c>, as Strimzi's Kafka agent serves them) and
/// Prometheus (<c>/metrics</c>). Started before the logs are loaded so that the recovery state can be watched.
/// Thread-safe.
/// </summary>
internal sealed class ObservabilityEndpoints : IAsyncDisposable
{
    private const string PrometheusTextContentType = "text/plain; version=0.0.4; charset=utf-8";
    private const string JsonContentType = "application/json";

    private readonly SideHttpServer? _health;
    private readonly SideHttpServer? _metrics;

    private ObservabilityEndpoints(SideHttpServer? health, SideHttpServer? metrics)
    {
        _health = health;
        _metrics = metrics;
    }

    public System.Net.IPEndPoint? HealthEndPoint => _health?.EndPoint;

    public System.Net.IPEndPoint? MetricsEndPoint => _metrics?.EndPoint;

    /// <summary>Binds the ports that are not disabled (-1); port 0 binds an ephemeral port.</summary>
    public static async Task<ObservabilityEndpoints> StartAsync(
        string healthHost, int healthPort, string metricsHost, int metricsPort, BrokerStatus status, BrokerMetrics metrics, ILogger logger)
    {
        SideHttpServer? health = null;
        SideHttpServer? prometheus = null;
        try
        {
            if (healthPort >= 0)
            {
                health = new SideHttpServer("health", (path, _) => new ValueTask<HttpReply>(HealthReply(path, status)), logger);
                health.Start(healthHost, healthPort);
            }

            if (metricsPort >= 0)
            {
                prometheus = new SideHttpServer("metrics", (path, ct) => MetricsReplyAsync(path, metrics.Registry, ct), logger);
                prometheus.Start(metricsHost, metricsPort);
            }

            return new ObservabilityEndpoints(health, prometheus);
        }
        catch
        {
            if (health is not null)
            {
                await health.DisposeAsync().ConfigureAwait(false);
            }

            if (prometheus is not null)
            {
                await prometheus.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>204 when running, else 503 (ready); the state JSON (broker-state); 404 for anything else.</summary>
    internal static HttpReply HealthReply(string path, BrokerStatus status) => path switch
    {
        "/v1/ready" or "/v1/ready/" => HttpReply.Empty(status.IsReady ? 204 : 503),
        "/v1/broker-state" or "/v1/broker-state/" => new HttpReply(200, JsonContentType, Encoding.UTF8.GetBytes(status.ToJson())),
        _ => HttpReply.Empty(404),
    };

    internal static async ValueTask<HttpReply> MetricsReplyAsync(string path, CollectorRegistry registry, CancellationToken cancellationToken)
    {
        if (path is not ("/metrics" or "/metrics/"))
        {
            return HttpReply.Empty(404);
        }

        using var body = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(body, cancellationToken).ConfigureAwait(false);
        return new HttpReply(200, PrometheusTextContentType, body.ToArray());
    }

    public async ValueTask DisposeAsync()
    {
        if (_health is not null)
        {
            await _health.DisposeAsync().ConfigureAwait(false);
        }

        if (_metrics is not null)
        {
            await _metrics.DisposeAsync().ConfigureAwait(false);
        }
    }
}
