namespace Broker.Protocol.Messages;

/// <summary>
/// Thrown when writing a message at a version that cannot carry one of its non-default fields (Kafka's
/// UnsupportedVersionException for a non-ignorable field). A programming error in the caller, not bad input.
/// Immutable; thread-safe.
/// </summary>
public sealed class UnsupportedVersionException : Exception
{
    public UnsupportedVersionException(string message) : base(message)
    {
    }

    public UnsupportedVersionException(string message, Exception inner) : base(message, inner)
    {
    }
}
