using System.Globalization;
using System.Text.Json;
using Broker.Storage.FileSystem;

namespace Broker.Storage.Checkpoints;

/// <summary>
/// <c>.kafka_cleanshutdown</c>: JSON <c>{"version":0,"brokerEpoch":N}</c>, written last at shutdown after every log is
/// flushed. Its presence at startup means indexes and checkpoints can be trusted. Stateless; thread-safe.
/// </summary>
internal static class CleanShutdownFile
{
    public static string Format(long brokerEpoch) =>
        "{\"version\":0,\"brokerEpoch\":" + brokerEpoch.ToString(CultureInfo.InvariantCulture) + "}";

    public static void Write(string logDir, long brokerEpoch) =>
        DurableFile.WriteAtomically(Path.Combine(logDir, LogFileNames.CleanShutdown), Format(brokerEpoch));

    /// <summary>True if the marker exists; the broker epoch is -1 when absent or unreadable.</summary>
    public static bool Exists(string logDir, out long brokerEpoch)
    {
        brokerEpoch = -1;
        var path = Path.Combine(logDir, LogFileNames.CleanShutdown);
        if (!File.Exists(path))
        {
            return false;
        }

        try
        {
            using var doc = JsonDocument.Parse(DurableFile.ReadAllText(path));
            if (doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("brokerEpoch", out var epoch)
                && epoch.TryGetInt64(out var value))
            {
                brokerEpoch = value;
            }
        }
        catch (JsonException)
        {
            // The marker is replaced atomically, so it still proves a clean shutdown; only the epoch is lost.
        }

        return true;
    }

    public static void Delete(string logDir)
    {
        var path = Path.Combine(logDir, LogFileNames.CleanShutdown);
        if (File.Exists(path))
        {
            DurableFile.DeleteDurably(path);
        }
    }
}
