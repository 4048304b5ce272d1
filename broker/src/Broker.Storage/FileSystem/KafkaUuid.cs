using System.Buffers.Text;

namespace Broker.Storage.FileSystem;

/// <summary>
/// Kafka's textual Uuid: the 16 bytes in RFC order (most significant first, as on the wire) in unpadded
/// base64url, 22 characters. Stateless; thread-safe.
/// </summary>
internal static class KafkaUuid
{
    public static string ToBase64Url(Guid value)
    {
        Span<byte> bytes = stackalloc byte[16];
        value.TryWriteBytes(bytes, bigEndian: true, out _);
        return Base64Url.EncodeToString(bytes);
    }

    public static bool TryParse(string? text, out Guid value)
    {
        value = Guid.Empty;
        if (text is null || text.Length != 22)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[16];
        if (!Base64Url.TryDecodeFromChars(text, bytes, out var written) || written != 16)
        {
            return false;
        }

        value = new Guid(bytes, bigEndian: true);
        return true;
    }

    /// <summary>
    /// A random id whose text does not start with '-', which Kafka avoids because it reads as a command-line flag.
    /// </summary>
    public static Guid NewId(Func<Guid> newGuid)
    {
        while (true)
        {
            var id = newGuid();
            if (id != Guid.Empty && !ToBase64Url(id).StartsWith('-'))
            {
                return id;
            }
        }
    }
}
