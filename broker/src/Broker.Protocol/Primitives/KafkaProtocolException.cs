namespace Broker.Protocol;

/// <summary>
/// Thrown by the codec when bytes do not follow the Kafka wire format (truncated field, negative length,
/// overlong varint). The network layer maps it to a closed connection or an error code; it never escapes
/// a handler. Immutable; thread-safe.
/// </summary>
public sealed class KafkaProtocolException : Exception
{
    public KafkaProtocolException(string message) : base(message)
    {
    }

    public KafkaProtocolException(string message, Exception inner) : base(message, inner)
    {
    }
}

/// <summary>Throw helpers kept out of hot methods so those stay small enough to inline.</summary>
internal static class ThrowHelper
{
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Truncated(int needed, int remaining) =>
        throw new KafkaProtocolException($"Truncated input: needed {needed} bytes, {remaining} remain.");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Malformed(string what) => throw new KafkaProtocolException(what);
}
