using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>
/// Pins Confluent.Kafka to the librdkafka it ships before any test creates a client. Without this, a machine
/// with Debian's librdkafka-dev (an older librdkafka.so on the default search path) makes the client bind the
/// system library, which lacks entry points Confluent.Kafka 2.16 calls.
/// </summary>
internal static class BundledLibrdkafka
{
#pragma warning disable CA2255 // A test assembly is the right place: every test must see the same native library.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Install()
    {
        var arch = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "arm64" : "x64";
        var path = Path.Combine(AppContext.BaseDirectory, "runtimes", $"linux-{arch}", "native", "librdkafka.so");
        NativeLibrary.SetDllImportResolver(typeof(global::Confluent.Kafka.Library).Assembly, (name, _, _) =>
            name == "librdkafka"
                ? NativeLibrary.Load(File.Exists(path) ? path : throw new FileNotFoundException($"Confluent.Kafka's bundled librdkafka is missing at {path}.", path))
                : IntPtr.Zero);
    }
}
