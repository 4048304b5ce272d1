namespace Broker.Coordinators.Groups;

/// <summary>
/// Maps a group id to its <c>__consumer_offsets</c> partition exactly as Kafka does, so that clients and other
/// brokers agree on the coordinator: <c>Utils.abs(groupId.hashCode()) % partitions</c>. Stateless; thread-safe.
/// </summary>
public static class GroupPartitioner
{
    /// <summary>Java's <c>String.hashCode</c>: <c>h = 31*h + c</c> over UTF-16 code units with int32 wrap-around.</summary>
    public static int JavaHashCode(string value)
    {
        var hash = 0;
        foreach (var c in value)
        {
            hash = unchecked((31 * hash) + c);
        }

        return hash;
    }

    /// <summary>Kafka's <c>Utils.abs</c>: like <see cref="Math.Abs(int)"/> but maps int.MinValue to 0 instead of throwing.</summary>
    public static int JavaAbs(int value) => value == int.MinValue ? 0 : Math.Abs(value);

    public static int PartitionFor(string groupId, int partitionCount) => JavaAbs(JavaHashCode(groupId)) % partitionCount;
}
