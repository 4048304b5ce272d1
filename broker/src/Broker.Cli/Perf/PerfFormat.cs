using System.Globalization;
using static System.FormattableString;

namespace Broker.Cli.Perf;

/// <summary>The perf tools' report lines, in the spirit of Kafka's perf-test output. Stateless; thread-safe.</summary>
internal static class PerfFormat
{
    /// <summary>"MB" as Kafka's perf tools count it: 2^20 bytes.</summary>
    public const double BytesPerMegabyte = 1024 * 1024;

    public static string ProducerProgress(PerfWindow w) => string.Create(CultureInfo.InvariantCulture,
        $"{w.Records} records sent, {w.RecordsPerSecond:F1} records/sec ({w.MegabytesPerSecond:F2} MB/sec), {w.AvgLatencyMs:F1} ms avg latency, {w.MaxLatencyMs:F1} ms max latency.");

    public static string ProducerSummary(ProducerPerfSummary s)
    {
        var t = s.Total;
        var throughput = Invariant($"{t.Records} records sent, {t.RecordsPerSecond:F1} records/sec ({t.MegabytesPerSecond:F2} MB/sec), ");
        var latency = Invariant($"{t.AvgLatencyMs:F2} ms avg latency, {t.MaxLatencyMs:F2} ms max latency, ");
        var percentiles = Invariant($"{s.P50Ms:F2} ms p50, {s.P95Ms:F2} ms p95, {s.P99Ms:F2} ms p99, {s.P999Ms:F2} ms p99.9");
        var errors = s.Errors > 0 ? Invariant($", {s.Errors} failed.") : ".";
        return throughput + latency + percentiles + errors;
    }

    public static string ConsumerProgress(PerfWindow w) => string.Create(CultureInfo.InvariantCulture,
        $"{w.Records} records consumed, {w.RecordsPerSecond:F1} records/sec ({w.MegabytesPerSecond:F2} MB/sec).");

    public static string ConsumerSummary(PerfWindow total) =>
        Invariant($"{total.Records} records consumed ({total.Bytes / BytesPerMegabyte:F2} MB) in {total.Elapsed.TotalSeconds:F2} s, ")
        + Invariant($"{total.RecordsPerSecond:F1} records/sec ({total.MegabytesPerSecond:F2} MB/sec).");
}
