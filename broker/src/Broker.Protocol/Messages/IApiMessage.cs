namespace Broker.Protocol.Messages;

/// <summary>
/// A message generated from a Kafka schema: a request, response, header, data or KRaft record type.
/// <para>
/// Each generated class also has compile-time constants <c>LowestSupportedVersion</c>/<c>HighestSupportedVersion</c>
/// (and <c>ApiKey</c> for types whose schema has an apiKey) and a static <c>IsFlexible(short)</c>. The version members
/// here are implemented explicitly and return the same values, for code that only holds the interface (static
/// abstract members are avoided so that the interface stays usable as a type argument).
/// </para>
/// Implementations are mutable and not thread-safe.
/// </summary>
public interface IApiMessage
{
    /// <summary>The schema's apiKey (for KRaft records, the record type); -1 for data types without one.</summary>
    short ApiKeyValue { get; }

    short LowestVersion { get; }

    short HighestVersion { get; }

    bool IsFlexibleVersion(short version);

    /// <summary>
    /// Decodes the message body at <paramref name="version"/>, overwriting the fields present in that version.
    /// Byte and record fields become slices of the reader's memory. Throws <see cref="KafkaProtocolException"/>
    /// on malformed or truncated input.
    /// </summary>
    void Read(ref KafkaReader reader, short version);

    /// <summary>
    /// Encodes the message body at <paramref name="version"/>. Throws <see cref="UnsupportedVersionException"/>
    /// when a non-ignorable field absent from that version holds a non-default value.
    /// </summary>
    void Write(KafkaWriter writer, short version);
}
