using System.Runtime.InteropServices;

namespace Broker.Cli.Perf;

/// <summary>
/// Makes Confluent.Kafka bind the librdkafka it ships (runtimes/linux-*/native) rather than a librdkafka.so the
/// system resolves first: with Debian's librdkafka-dev installed, the unversioned system library (an older
/// release) would otherwise win and lack entry points the client calls. Thread-safe; idempotent.
/// </summary>
internal static class BundledLibrdkafka
{
    private static int _installed;

    public static void Load()
    {
        if (!OperatingSystem.IsLinux() || Interlocked.Exchange(ref _installed, 1) != 0)
        {
            return;
        }

        var arch = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "arm64" : "x64";
        var path = Path.Combine(AppContext.BaseDirectory, "runtimes", $"linux-{arch}", "native", "librdkafka.so");
        if (!File.Exists(path))
        {
            return;
        }

        NativeLibrary.SetDllImportResolver(typeof(Confluent.Kafka.Library).Assembly, (name, _, _) =>
            name == "librdkafka" ? NativeLibrary.Load(path) : IntPtr.Zero);
    }
}
