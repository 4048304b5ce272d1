using Broker.Protocol;
using Broker.Protocol.Coordinator;
using Broker.Protocol.Messages;

namespace Broker.Coordinators.Groups;

/// <summary>One <c>__consumer_offsets</c> record: key and value bytes; a null value is a tombstone. Immutable; thread-safe.</summary>
public readonly record struct GroupLogRecord(byte[] Key, byte[]? Value);

/// <summary>
/// Encodes and decodes the <c>__consumer_offsets</c> records Kafka writes: key = int16 key version | body, value =
/// int16 value version | body. Offsets are written as OffsetCommitKey (key version 1) with OffsetCommitValue v3 (v1 when
/// an explicit expire timestamp exists); groups as GroupMetadataKey (key version 2) with GroupMetadataValue v3.
/// Stateless; thread-safe.
/// </summary>
public static class GroupRecords
{
    public const short OffsetCommitKeyVersion = 1;
    public const short GroupMetadataKeyVersion = 2;

    public static GroupLogRecord Offset(string group, string topic, int partition, CommittedOffset? offset)
    {
        var key = Encode(OffsetCommitKeyVersion, new OffsetCommitKey { Group = group, Topic = topic, Partition = partition });
        if (offset is null)
        {
            return new GroupLogRecord(key, null);
        }

        var version = (short)(offset.ExpireTimestamp >= 0 ? 1 : 3);
        var value = new OffsetCommitValue
        {
            Offset = offset.Offset,
            LeaderEpoch = offset.LeaderEpoch,
            Metadata = offset.Metadata,
            CommitTimestamp = offset.CommitTimestamp,
            ExpireTimestamp = offset.ExpireTimestamp,
        };
        return new GroupLogRecord(key, Encode(version, value));
    }

    public static GroupLogRecord Group(string group, GroupMetadataValue? value) =>
        new(Encode(GroupMetadataKeyVersion, new GroupMetadataKey { Group = group }), value is null ? null : Encode(3, value));

    /// <summary>Decodes a record key: an offset key, a group key, or neither (other record types are skipped).</summary>
    public static (OffsetCommitKey? Offset, GroupMetadataKey? Group) ReadKey(ReadOnlyMemory<byte> bytes)
    {
        var reader = new KafkaReader(bytes);
        var version = reader.ReadInt16();
        switch (version)
        {
            case 0 or 1:
                var offset = new OffsetCommitKey();
                offset.Read(ref reader, version);
                return (offset, null);
            case 2:
                var group = new GroupMetadataKey();
                group.Read(ref reader, version);
                return (null, group);
            default:
                return (null, null);
        }
    }

    public static OffsetCommitValue ReadOffsetValue(ReadOnlyMemory<byte> bytes) => ReadValue<OffsetCommitValue>(bytes, OffsetCommitValue.HighestSupportedVersion);

    public static GroupMetadataValue ReadGroupValue(ReadOnlyMemory<byte> bytes) => ReadValue<GroupMetadataValue>(bytes, GroupMetadataValue.HighestSupportedVersion);

    // A newer value version is read with the highest schema known: fields are only ever appended.
    private static T ReadValue<T>(ReadOnlyMemory<byte> bytes, short highest)
        where T : IApiMessage, new()
    {
        var reader = new KafkaReader(bytes);
        var version = Math.Min(reader.ReadInt16(), highest);
        var value = new T();
        value.Read(ref reader, version);
        return value;
    }

    private static byte[] Encode(short version, IApiMessage body)
    {
        using var writer = new KafkaWriter(256);
        writer.WriteInt16(version);
        body.Write(writer, version);
        return writer.WrittenSpan.ToArray();
    }
}
