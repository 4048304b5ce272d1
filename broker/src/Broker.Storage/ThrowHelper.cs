using System.Diagnostics.CodeAnalysis;

namespace Broker.Storage;

/// <summary>Throw helpers kept out of hot methods so those stay small and inlinable. Stateless; thread-safe.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowLogClosed(string log) => throw new ObjectDisposedException(log, $"Log {log} is closed.");

    [DoesNotReturn]
    public static void ThrowInvalidBatches(string reason) =>
        throw new ArgumentException($"Not a sequence of whole v2 record batches: {reason}.", "batches");
}
