using Broker.Protocol.Coordinator;

namespace Broker.Coordinators.Groups;

/// <summary>Builds the persisted GroupMetadataValue of a group (call under the group's lock). Stateless; thread-safe.</summary>
internal static class GroupMetadata
{
    public static GroupMetadataValue From(ClassicGroup group)
    {
        var value = new GroupMetadataValue
        {
            ProtocolType = group.ProtocolType ?? "",
            Generation = group.GenerationId,
            Protocol = group.ProtocolName,
            Leader = group.LeaderId,
            CurrentStateTimestamp = group.StateTimestampMs,
        };
        foreach (var m in group.Members)
        {
            value.Members.Add(new GroupMetadataValue.MemberMetadata
            {
                MemberId = m.MemberId,
                GroupInstanceId = m.GroupInstanceId,
                ClientId = m.ClientId,
                ClientHost = m.ClientHost,
                RebalanceTimeout = m.RebalanceTimeoutMs,
                SessionTimeout = m.SessionTimeoutMs,
                Subscription = m.MetadataFor(group.ProtocolName),
                Assignment = m.Assignment,
            });
        }

        return value;
    }
}

/// <summary>
/// Reads the topics of a ConsumerProtocolSubscription (<c>int16 version | topics | ...</c>, every version starts with
/// the topic array, non-flexible). Stateless; thread-safe.
/// </summary>
public static class ConsumerSubscription
{
    /// <summary>The subscribed topics, or null when the bytes are not a readable subscription.</summary>
    public static List<string>? TryReadTopics(ReadOnlySpan<byte> bytes)
    {
        try
        {
            if (bytes.Length < 6)
            {
                return null;
            }

            var count = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes[2..]);
            var position = 6;
            var topics = new List<string>(Math.Max(0, Math.Min(count, 1024)));
            for (var i = 0; i < count; i++)
            {
                var length = System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(bytes[position..]);
                position += 2;
                topics.Add(System.Text.Encoding.UTF8.GetString(bytes.Slice(position, length)));
                position += length;
            }

            return topics;
        }
        catch (ArgumentOutOfRangeException)
        {
            return null;
        }
    }
}
