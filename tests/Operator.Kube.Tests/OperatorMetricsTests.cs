using System.Globalization;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Prometheus;

namespace Operator.Kube.Tests;

/// <summary>Strimzi's reconciliation metrics, exported as Prometheus text, with a manual clock.</summary>
public sealed class OperatorMetricsTests
{
    private static async Task<Dictionary<string, double>> ScrapeAsync(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return Encoding.UTF8.GetString(stream.ToArray()).Split('\n')
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => (Name: l[..l.LastIndexOf(' ')], Value: double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)))
            .ToDictionary(s => s.Name, s => s.Value, StringComparer.Ordinal);
    }

    [Fact]
    public async Task StartedSucceededFailed_CountPerKindAndNamespace_AndTimeDurations()
    {
        var time = new FakeTimeProvider();
        var metrics = new OperatorMetrics(Metrics.NewCustomRegistry(), time);

        var first = metrics.Started("Kafka", "a");
        time.Advance(TimeSpan.FromSeconds(2));
        metrics.Succeeded("Kafka", "a", first);
        var second = metrics.Started("Kafka", "a");
        time.Advance(TimeSpan.FromSeconds(0.25));
        metrics.Failed("Kafka", "a", second);
        metrics.Succeeded("Kafka", "b", metrics.Started("Kafka", "b"));
        metrics.SetResources("Kafka", "a", 3);

        var scrape = await ScrapeAsync(metrics.Registry);
        const string A = "{kind=\"Kafka\",namespace=\"a\",selector=\"\"}";
        const string B = "{kind=\"Kafka\",namespace=\"b\",selector=\"\"}";
        Assert.Equal(2, scrape["strimzi_reconciliations_total" + A]);
        Assert.Equal(1, scrape["strimzi_reconciliations_successful_total" + A]);
        Assert.Equal(1, scrape["strimzi_reconciliations_failed_total" + A]);
        Assert.Equal(1, scrape["strimzi_reconciliations_total" + B]);
        Assert.Equal(0, scrape["strimzi_reconciliations_failed_total" + B]);
        Assert.Equal(2, scrape["strimzi_reconciliations_duration_seconds_count" + A]);
        Assert.Equal(2.25, scrape["strimzi_reconciliations_duration_seconds_sum" + A], 6);
        Assert.Equal(1, scrape["strimzi_reconciliations_duration_seconds_bucket{kind=\"Kafka\",namespace=\"a\",selector=\"\",le=\"0.5\"}"]);
        Assert.Equal(0, scrape["strimzi_reconciliations_duration_seconds_sum" + B]);
        Assert.Equal(3, scrape["strimzi_resources" + A]);
    }
}
