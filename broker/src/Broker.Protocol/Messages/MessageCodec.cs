namespace Broker.Protocol.Messages;

/// <summary>
/// Helpers shared by the generated messages: tagged-field framing checks and error construction, kept out of
/// the generated Read/Write bodies so those stay small. Stateless; thread-safe.
/// </summary>
internal static class MessageCodec
{
    /// <summary>Reads a tagged field's size and checks that the field fits in the remaining input.</summary>
    public static int ReadTaggedFieldSize(ref KafkaReader reader)
    {
        var size = reader.ReadUnsignedVarInt();
        if (size > (uint)reader.Remaining)
        {
            ThrowHelper.Truncated(size > int.MaxValue ? int.MaxValue : (int)size, reader.Remaining);
        }

        return (int)size;
    }

    /// <summary>A known tagged field must fill exactly the size its header announced.</summary>
    public static void CheckTaggedFieldEnd(ref KafkaReader reader, int end, string field)
    {
        if (reader.Position != end)
        {
            ThrowHelper.Malformed($"Tagged field {field} does not match its declared size.");
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void ThrowNullField(string owner, string field) =>
        throw new KafkaProtocolException($"Non-nullable field {owner}.{field} was null.");

    public static UnsupportedVersionException FieldNotSupported(string owner, string field, short version) =>
        new($"Attempted to write a non-default {owner}.{field} at version {version}, which does not support it.");

    public static InvalidOperationException NullNotAllowed(string owner, string field, short version) =>
        new($"Field {owner}.{field} is null but is not nullable at version {version}.");
}
